import { transformSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519CoreScript } from './gen/ed25519-core';

/**
 * The update verifier as an asset (id 4 of docs/formats/assets.md): JavaScript text that the loader
 * reads from flash and evaluates with an indirect eval, `(0, eval)(text)`, only while an update is
 * checked, so its code takes no heap (Kaluma) or variables (Espruino) the rest of the time. The text
 * is one expression whose value is a function
 *
 *     (publicKey, message, signature, sha512, share) => { step(): number }
 *
 * that starts an Ed25519 verification (RFC 8032 §5.1.7, as modules/crypto/ed25519.ts: strict,
 * cofactorless) run in bounded steps: step() returns 0 while there is more to do, then 1 (valid) or
 * -1 (invalid), and that result again. `share` (optional, 0 < share ≤ 1, 1 when omitted) scales each
 * step's work down, in more steps, with the same answer (ed25519-core.d.ts). Evaluating the text
 * defines nothing global: everything lives in the function's closure, freed when the caller drops it.
 *
 * - `kaluma`: the unrolled core with plain arrays, and its own SHA-512 run 40 rounds per step
 *   (modules/crypto/sha512.js: Kaluma has none natively); pass `undefined` as sha512.
 * - `espruino`: the same core with its field elements and table in Int32Arrays (fewer variables), and
 *   no SHA-512 of its own: pass the native one, e.g. `function (d) { return new Uint8Array(require('crypto').SHA512(d)); }`
 *   (boards/espruino-esp32/crypto.ts), and 0.2 as share: with the share 1 a step takes up to 53 M
 *   x86 instructions there (1.5–2.3 s on an ESP32, estimated), with 0.2 at most about 11 M (one
 *   point addition, 0.3–0.5 s), so the device serves between steps. Evaluated from a Storage file,
 *   Espruino keeps the functions' code in flash: docs/design/espruino-update-authentication.md has
 *   the figures.
 *
 * The text is minified as device bundles are (whitespace and local names; Espruino lexes its source
 * as it runs, so shorter text also runs faster there).
 */
export function verifierAssetText(runtime: 'kaluma' | 'espruino'): string {
  const parts = ['(function () {'];
  if (runtime === 'kaluma') parts.push(readFileSync(SHA512_FILE, 'utf8').replace(/^export /gm, ''));
  parts.push(ed25519CoreScript(runtime), 'return steps;', '})()');
  const result = transformSync(parts.join('\n'), {
    minifyWhitespace: true,
    minifyIdentifiers: true,
    minifySyntax: false,
    legalComments: 'none',
    charset: 'ascii',
    target: 'esnext',
  });
  return result.code;
}

const SHA512_FILE = join(fileURLToPath(new URL('.', import.meta.url)), '../../modules/crypto/sha512.js');
