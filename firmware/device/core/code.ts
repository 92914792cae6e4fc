import type { Assets } from './assets';

/** Bytes turned into text per piece: the pieces and the joined text are in the heap together for a moment. */
const enum Code {
  PIECE = 1024,
  /** Bytes read for where the code starts and the parts' lengths (`/*parts:C,n,n,…;`). */
  HEAD = 512,
}

/**
 * Evaluates asset `id`, JavaScript text whose value is the code's export, and returns that value:
 * code an image needs only now and then (the update worker), read from flash when it is needed. On
 * Kaluma the program's text is parsed into JerryScript's heap for good; text evaluated here takes
 * the heap only while something holds the value it returns (docs/formats/assets.md, asset 5). The
 * text is strict code that declares nothing outside itself. It comes from the assets of the running
 * slot, which were verified with the image (docs/formats/update.md).
 * Text that starts with a comment keeps its messages in it, out of the code (whose literals the
 * heap would keep after the code is let go: firmware/host/ondemand.ts): its value is then a
 * function of the assets and the asset's offset, which reads them from there and gives the export.
 * Throws if the asset is missing (an image built for another target, or a damaged partition).
 */
export function loadCode(assets: Pick<Assets, 'find' | 'read'>, id: number): unknown {
  const span = assets.find(id);
  if (!span) throw new Error('the code asset ' + id + ' is missing from the assets');
  const parts: string[] = [];
  for (let at = 0; at < span.length; at += Code.PIECE) {
    const bytes = assets.read(span.offset + at, Math.min(Code.PIECE, span.length - at));
    parts.push(String.fromCharCode.apply(null, bytes as unknown as number[]));
  }
  const text = parts.join('');
  // The pieces go before the text is parsed: the heap holds the text once while the parser works.
  parts.length = 0;
  // Indirect: evaluated in the global scope, where the text (strict) declares nothing that outlives it.
  const indirect = eval;
  const value = indirect(text);
  // "/": the text starts with its messages' comment, and its value takes where to read them.
  return text.charCodeAt(0) === 47 ? (value as (assets: Pick<Assets, 'read'>, offset: number) => unknown)(assets, span.offset) : value;
}

/**
 * Evaluates asset `id` written in parts (firmware/host/ondemand.ts `onDemandText`): a comment
 * `/*parts:C,n,n,…;` + the messages + `*\/`, where C is the offset of the code and each n a part's
 * length, then the parts, each the body of a function of the scope they share (`__s`: the code's
 * top-level names where it has several parts, the assets `__a` and where the messages start `__o`).
 * Each part is read, parsed and run before the next is read, so the heap holds the code's bytecode
 * and one part's text, never the whole text: the update worker's 42 KB at once would not fit beside
 * a joined Pico W's image. The last part returns the export, which this returns. Throws if the asset
 * is missing or not laid out so (a damaged partition); the asset itself was verified with the image.
 */
export function loadParts(assets: Pick<Assets, 'find' | 'read'>, id: number): unknown {
  const span = assets.find(id);
  if (!span) throw new Error('the code asset ' + id + ' is missing from the assets');
  const head = String.fromCharCode.apply(null, assets.read(span.offset, Math.min(Code.HEAD, span.length)) as unknown as number[]);
  const close = head.indexOf(';');
  const lengths = head.slice(8, close).split(',');
  const scope = { __a: assets, __o: span.offset + close + 1 };
  let at = +lengths[0];
  let value: unknown;
  for (let i = 1; i < lengths.length && head.slice(0, 8) === '/*parts:'; i++) {
    const n = +lengths[i];
    if (!(n > 0) || at + n > span.length) break;
    const pieces: string[] = [];
    for (let j = 0; j < n; j += Code.PIECE) pieces.push(String.fromCharCode.apply(null, assets.read(span.offset + at + j, Math.min(Code.PIECE, n - j)) as unknown as number[]));
    at += n;
    value = new Function('__s', pieces.join(''))(scope);
  }
  if (at !== span.length || close < 0) throw new Error('the code asset ' + id + ' is not in parts');
  return value;
}

/**
 * Evaluates `text`, one strict expression, in the global scope (an indirect eval: the text declares
 * nothing that outlives it) and returns its value. Espruino passes a Storage file's bytes read in
 * place (`require('Storage').read`), untouched: its function code then stays in flash.
 */
export function evaluate(text: unknown): unknown {
  const indirect = eval;
  return indirect(text as string);
}
