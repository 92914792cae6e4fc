import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleDevice, ROOT } from '../firmware/host/build';
import { buildCommonFilter, commonPasswordList, encodeAssets, filterHas } from '../firmware/host/assets';
import type { DeviceTarget } from '../firmware/host/profiles';
import { countOnRealEngine, hasValgrind } from '../firmware/host/real-engines';
import { Asset } from '../firmware/device/core/assets';
import { base64Decode, base64Encode } from '../firmware/device/core/base64';
import { Bloom, bloomIndices } from '../modules/accounts/common';
import { checkPassword } from '../modules/accounts/policy';
import { scramClient, scramVerifier, type ScramClientCrypto } from '../modules/accounts/scram';
import { jsCrypto } from '../modules/crypto/provider-js';
import { jsCryptoCore } from '../modules/crypto/provider-core';
import { deviceKeys } from '../modules/keys/keys';
import { runAccounts, type AccountsBenchInput } from './device/accounts-ops';
import { ms, table } from './crypto';

/**
 * Accounts rows of `npm run bench`: what one login (step 1 + step 2) and one password change cost
 * the device, from the parsed request to the reply (bench/device/accounts-ops.ts boots a unit and
 * calls the module's handlers). Always: the host (Node, the host board's pure-JavaScript crypto),
 * in ms. With HOSHI_JERRY / HOSHI_ESPRUINO and valgrind: x86 instructions counted on the real
 * engines (JerryScript with the Kaluma boards' pure-JavaScript provider; Espruino with the ESP32
 * board's native crypto) and the RP2040 estimate. docs/performance.md ("Accounts") explains them.
 */

const MODEL = 'HS-BENCH-01';
const VENDOR = 'Hoshi Bench';
const ITERATIONS = 4096;
/** Logins the host replays (and times); the engines are given the first few. */
const LOGINS = 65;
const CHANGES = 17;

/** The client's side with node:crypto (fast: the device's cost is what is measured). */
const CLIENT: ScramClientCrypto = {
  sha256: (d) => new Uint8Array(createHash('sha256').update(d).digest()),
  hmacSha256: (k, d) => new Uint8Array(createHmac('sha256', k).update(d).digest()),
  pbkdf2Sha256: (pw, salt, n, len) => new Uint8Array(pbkdf2Sync(pw, salt, n, len, 'sha256')),
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Passwords the policy accepts and the filter does not hold, and one listed common password the other rules let through. */
function passwords(serial: string, filter: Uint8Array): { accepted: string[]; common: string } {
  const identity = [MODEL, VENDOR, serial];
  const accepted: string[] = [];
  for (let i = 0; accepted.length < CHANGES; i++) {
    const pw = 'Quiet lantern ' + (17 * i + 5) + ' over Kiso';
    if (!checkPassword(pw, { minLength: 8, identity }) && !filterHas(filter, pw.toLowerCase())) accepted.push(pw);
  }
  const common = commonPasswordList().find((w) => !checkPassword(w, { minLength: 8, identity }));
  if (!common) throw new Error('accounts bench: no common password passes the other rules');
  return { accepted, common };
}

/** The assets container with the real filter's header and length, holding only the bytes that `words`' lookups read (the CRC-32 check reads them all). */
function sparseAssets(filter: Uint8Array, words: string[]): [number, string][] {
  const k = filter[0]!;
  const m = new DataView(filter.buffer, filter.byteOffset).getUint32(4, true);
  const sparse = new Uint8Array(filter.length);
  sparse.set(filter.subarray(0, Bloom.HEADER));
  for (const w of words) for (const j of bloomIndices(CLIENT.sha256, w, k, m)) sparse[Bloom.HEADER + (j >> 3)] = filter[Bloom.HEADER + (j >> 3)]!;
  const container = encodeAssets([{ id: Asset.COMMON_PASSWORDS, bytes: sparse }]);
  const runs: [number, string][] = [];
  for (let i = 0; i < container.length; i++) {
    if (container[i] === 0) continue;
    let j = i;
    while (j < container.length && container[j] !== 0) j++;
    runs.push([i, hex(container.subarray(i, j))]);
    i = j;
  }
  return runs;
}

/** A unit of its own (secret, seed, default password: new at each run), its client messages, and the replay on the host that fixes the server's answers for `writeSize`. */
function makeInput(writeSize: number): AccountsBenchInput {
  const secret = new Uint8Array(randomBytes(32));
  const serial = 'HSBENCH' + randomBytes(3).toString('hex').toUpperCase();
  const password = 'dflt-' + randomBytes(8).toString('hex');
  const salt = new Uint8Array(randomBytes(16));
  const verifier = scramVerifier(CLIENT, password, salt, ITERATIONS);
  const filter = buildCommonFilter().bytes;
  const pw = passwords(serial, filter);
  const assets = sparseAssets(filter, [...pw.accepted, pw.common].map((p) => p.toLowerCase()));
  const body = (p: string): string => {
    const s = new Uint8Array(randomBytes(16));
    const v = scramVerifier(CLIENT, p, s, ITERATIONS);
    return JSON.stringify({ password: p, salt: base64Encode(s), iterations: ITERATIONS, storedKey: base64Encode(v.storedKey), serverKey: base64Encode(v.serverKey) });
  };
  const clients = Array.from({ length: LOGINS }, () => scramClient(CLIENT, 'admin', password, base64Encode(new Uint8Array(randomBytes(18)))));
  const input: AccountsBenchInput = {
    serial,
    secret: hex(secret),
    seed: hex(new Uint8Array(randomBytes(48))),
    salt: hex(salt),
    iterations: ITERATIONS,
    storedKey: hex(verifier.storedKey),
    serverKey: hex(verifier.serverKey),
    defaultCheck: hex(jsCrypto.hmacSha256(deviceKeys(jsCrypto, secret).key('default-password'), new TextEncoder().encode(password))),
    assets,
    firsts: clients.map((c) => JSON.stringify({ scram: c.first })),
    finals: [],
    wrong: '',
    changes: pw.accepted.map(body),
    common: body(pw.common),
  };
  // The replay: the same driver and unit on the host; the DRBG's inputs are the same, so the
  // engines' server nonces are these, and the recorded client-finals log in there too.
  runAccounts(jsCryptoCore, writeSize, 'login', LOGINS, input, (i, serverFirst) => {
    const final = clients[i]!.final(serverFirst);
    if (typeof final !== 'string') throw new Error('accounts bench: ' + final.error);
    input.finals.push(JSON.stringify({ scram: final }));
    return input.finals[i]!;
  });
  // Step 2 of the second login with a proof that is not the client's.
  const second = JSON.parse(input.finals[1]!).scram as string;
  const proof = base64Decode(second.substring(second.indexOf(',p=') + 3))!;
  proof[0] ^= 1;
  input.wrong = JSON.stringify({ scram: second.substring(0, second.indexOf(',p=') + 3) + base64Encode(proof) });
  return input;
}

/** The input of the engines' runs, as JSON: a new unit, with only what RUNS use. */
export function engineInput(writeSize: number): string {
  const input = makeInput(writeSize);
  return JSON.stringify({ ...input, firsts: input.firsts.slice(0, 4), finals: input.finals.slice(0, 3), changes: input.changes.slice(0, 3) });
}

/** Operations measured: name, what, and how its cost is taken from the counts (bench/device/accounts-ops.ts says what each op runs). */
const RUNS: [string, number][] = [['boot', 1], ['login', 1], ['login', 3], ['step1', 1], ['wrong', 1], ['change', 1], ['change', 3], ['common', 1]];

interface Costs {
  loginFirst: number;
  login: number;
  step1: number;
  step2: number;
  wrong: number;
  changeFirst: number;
  change: number;
  common: number;
}

function costs(c: { [run: string]: number }): Costs {
  const login = (c['login/3']! - c['login/1']!) / 2;
  const step1 = c['step1/1']! - c['login/1']!;
  return {
    loginFirst: c['login/1']! - c['boot/1']!,
    login,
    step1,
    step2: login - step1,
    wrong: c['wrong/1']! - c['step1/1']!,
    changeFirst: c['change/1']! - c['login/1']!,
    change: (c['change/3']! - c['change/1']!) / 2,
    common: c['common/1']! - c['change/1']!,
  };
}

const ROWS: [keyof Costs, string][] = [
  ['login', 'one login (step 1 + step 2)'],
  ['step1', '  step 1 (server nonce)'],
  ['step2', '  step 2 (count, proof, signature, session)'],
  ['loginFirst', 'first login after boot (+ DRBG instantiation)'],
  ['wrong', 'step 2 with a wrong proof'],
  ['change', 'one password change'],
  ['changeFirst', 'first password change after boot'],
  ['common', 'change refused: common password'],
];

/** Host (Node) time of each run, ms: the fastest of `repeat` runs after as many to warm up. */
function hostTimes(input: AccountsBenchInput, repeat: number): Costs {
  const c: { [run: string]: number } = {};
  const many = LOGINS - 2;
  const runs: [string, number][] = [...RUNS, ['login', LOGINS], ['change', CHANGES], ['step1', many], ['common', many]];
  for (let i = 0; i < repeat; i++) for (const [op, k] of runs) runAccounts(jsCrypto, 256, op, k, input);
  for (const [op, k] of runs) {
    let best = Infinity;
    for (let i = 0; i < repeat; i++) {
      const start = performance.now();
      runAccounts(jsCrypto, 256, op, k, input);
      best = Math.min(best, performance.now() - start);
    }
    c[op + '/' + k] = best;
  }
  const r = costs(c);
  // Many of each for the steady costs: a run's noise is large against one request.
  r.login = (c['login/' + LOGINS]! - c['login/1']!) / (LOGINS - 1);
  r.step1 = (c['step1/' + many]! - c['step1/1']!) / (many - 1);
  r.step2 = r.login - r.step1;
  r.change = (c['change/' + CHANGES]! - c['change/1']!) / (CHANGES - 1);
  r.common = (c['common/' + many]! - c['common/1']!) / (many - 1);
  return r;
}

export async function accountsBench(): Promise<void> {
  const hostInput = makeInput(256);
  const host = hostTimes(hostInput, 10);
  console.log('\nmodules/accounts: device cost of a request, from the parsed request to the reply (bench/device/accounts-ops.ts; RAM flash with the boards\' checks)');
  table([['where', 'operation', 'ms'], ...ROWS.map(([key, what]) => ['host (Node ' + process.versions.node + ', pure-JS crypto)', what, host[key] > 0.005 ? host[key].toFixed(2) : '< 0.01 (within the timer\'s noise)'])]);

  const engines: { [target in DeviceTarget]: string | undefined } = { kaluma: process.env.HOSHI_JERRY, espruino: process.env.HOSHI_ESPRUINO };
  if (!(engines.kaluma || engines.espruino) || !hasValgrind()) {
    console.log('(set HOSHI_JERRY and/or HOSHI_ESPRUINO, with valgrind installed, for the accounts module on the real engines)');
    return;
  }
  const rows: string[][] = [['engine', 'operation', 'x86 instructions', 'RP2040 estimate']];
  for (const target of ['kaluma', 'espruino'] as DeviceTarget[]) {
    const bin = engines[target];
    if (!bin) continue;
    const file = target === 'kaluma' ? 'accounts-js' : 'accounts-native';
    const engine = target === 'kaluma' ? 'JerryScript (pure-JS crypto)' : 'Espruino (native crypto)';
    const entry = 'import ' + JSON.stringify(join(ROOT, 'bench/device', file + '.ts')) + ';';
    const { code } = await bundleDevice(entry, ROOT, target, join(ROOT, 'dist/bench', target, file + '.js'));
    const given = engineInput(target === 'kaluma' ? 256 : 4);
    const c: { [run: string]: number } = {};
    let failure = '';
    for (const [op, k] of RUNS) {
      const r = countOnRealEngine(bin, target, code, `__bench('${op}', ${k}, ${JSON.stringify(given)});`);
      const bad = /LOW_MEMORY|Uncaught|Error:?.*|accounts bench:.*/.exec(r.output);
      if (bad || !(r.instructions > 0)) {
        failure = op + ' ' + k + ': ' + (bad ? bad[0] : 'no count');
        break;
      }
      c[op + '/' + k] = r.instructions;
    }
    if (failure) {
      rows.push([engine, 'fails: ' + failure, '-', '-']);
      continue;
    }
    const r = costs(c);
    for (const [key, what] of ROWS) rows.push([engine, what, String(Math.round(r[key])), target === 'kaluma' ? ms(r[key]) : '-']);
  }
  console.log('\nmodules/accounts on the real engines (callgrind, parse and run only; RP2040 at 133 MHz, 6.8–10.4 cycles per instruction)');
  table(rows);
}
