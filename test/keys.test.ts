import test from 'ava';
import { hkdfSync, randomBytes } from 'node:crypto';
import { memoryBacking, openSimFlash, PowerCutError, type FlashBacking, type Geometry } from '../boards/host/flash';
import type { Entropy } from '../hal/entropy';
import { jsCrypto } from '../modules/crypto/provider-js';
import { deviceKeys, KEY_PURPOSES, KEYS_SALT, RANDOM_RESERVE, RANDOM_STATE_KEY, unitRandom } from '../modules/keys/keys';
import { openStore } from '../modules/store/store';

const KALUMA: Geometry = { eraseSize: 4096, writeSize: 256, erasedValue: 0xff };
/** A board whose entropy adds nothing (Espruino's E.hwRand()): the worst case for repeats. */
const NONE: Entropy = { quality: 'none', bytes: (n) => new Uint8Array(n).fill(0x42) };

test('every key is HKDF-SHA-256 of the device secret with its own label (checked against node:crypto)', (t) => {
  const secret = randomBytes(32);
  const keys = deviceKeys(jsCrypto, secret);
  for (const [purpose, spec] of Object.entries(KEY_PURPOSES)) {
    const expected = new Uint8Array(hkdfSync('sha256', secret, Buffer.from(KEYS_SALT), Buffer.from(spec.label), spec.bytes));
    t.deepEqual(keys.key(purpose as keyof typeof KEY_PURPOSES), expected, purpose);
  }
  t.notDeepEqual(deviceKeys(jsCrypto, randomBytes(32)).key('store-seal'), keys.key('store-seal'));
  t.throws(() => deviceKeys(jsCrypto, new Uint8Array(16)), { message: /32 bytes/ });
  t.throws(() => keys.key('nothing' as 'store-seal'), { message: /unknown purpose/ });
});

test("the labels and lengths are fixed: changing one would change every unit's keys", (t) => {
  // deviceKeys spells these out (no table on the device); the test above derives each from here.
  t.is(KEYS_SALT, 'hoshi keys v1');
  t.deepEqual(KEY_PURPOSES, {
    'store-seal': { label: 'hoshi store seal v1', bytes: 16 },
    'default-password': { label: 'hoshi default password v1', bytes: 32 },
    'audit-log': { label: 'hoshi audit log v1', bytes: 32 },
  });
  t.is(RANDOM_STATE_KEY, 'hoshi.drbg');
  t.deepEqual(RANDOM_RESERVE, { key: RANDOM_STATE_KEY, bytes: 32, sealed: true });
});

test("one unit's flash cannot be opened with another unit's secret", (t) => {
  const backing = memoryBacking(8 * 4096);
  const mine = deviceKeys(jsCrypto, randomBytes(32));
  openStore(openSimFlash(backing, KALUMA), { seal: mine.cipher('store-seal') }).set('admin.pin', new Uint8Array(32).fill(1), true);
  const other = deviceKeys(jsCrypto, randomBytes(32));
  t.deepEqual(openStore(openSimFlash(backing, KALUMA), { seal: other.cipher('store-seal') }).read('admin.pin'), { ok: false, reason: 'not-authentic' });
  t.deepEqual(openStore(openSimFlash(backing, KALUMA), { seal: mine.cipher('store-seal') }).get('admin.pin'), new Uint8Array(32).fill(1));
});

/** One boot: opens the store, asks for 32 random bytes. Returns them (hex) or throws. */
function boot(backing: FlashBacking, secret: Uint8Array, seed: Uint8Array, cutAt?: number, scramble?: number): string {
  const flash = openSimFlash(backing, KALUMA);
  const keys = deviceKeys(jsCrypto, secret);
  const store = openStore(flash, { seal: keys.cipher('store-seal'), generationSectors: 2 });
  if (cutAt !== undefined) flash.cutAt(flash.operations + cutAt, scramble === undefined ? undefined : { scramble });
  const random = unitRandom(jsCrypto, seed, NONE, store);
  const a = random.bytes(32);
  const b = random.bytes(16);
  return Buffer.from(a).toString('hex') + Buffer.from(b).toString('hex');
}

test('no two boots produce the same random bytes, with a power cut at every write of boot and board entropy of quality none', (t) => {
  const secret = randomBytes(32);
  const seed = randomBytes(48);
  const backing = memoryBacking(4 * 4096);
  // The outputs of the unit's history so far. Each cut below starts an alternative history from
  // the same flash: its boots must differ from every earlier boot of the unit, and from each other.
  const history: string[] = [];
  let boots = 0;
  let cuts = 0;
  const distinct = (outputs: string[], where: string): void => {
    t.is(new Set(outputs).size, outputs.length, where + ': a boot repeated an earlier boot\'s output');
  };
  // 40 boots in a row (several compactions of a 4-sector region); before each, every write of the
  // boot is cut in turn (dropped, scrambled) on a copy, which then boots twice more.
  for (let n = 0; n < 40; n++) {
    const probe = memoryBacking(backing.size);
    probe.store(0, backing.read(0, backing.size));
    const flash = openSimFlash(probe, KALUMA);
    const store = openStore(flash, { seal: deviceKeys(jsCrypto, secret).cipher('store-seal'), generationSectors: 2 });
    unitRandom(jsCrypto, seed, NONE, store).bytes(32);
    const ops = flash.operations;
    for (let k = 1; k <= ops; k++) {
      for (const scramble of [undefined, k]) {
        const copy = memoryBacking(backing.size);
        copy.store(0, backing.read(0, backing.size));
        t.throws(() => boot(copy, secret, seed, k, scramble), { instanceOf: PowerCutError }, 'no output before the state is persisted');
        cuts++;
        const branch = history.concat([boot(copy, secret, seed), boot(copy, secret, seed)]);
        distinct(branch, `boot ${n}, cut at write ${k}`);
        boots += 2;
      }
    }
    history.push(boot(backing, secret, seed));
    boots++;
  }
  distinct(history, 'main history');
  t.true(cuts >= 80, `${cuts} cuts`);
  t.log(`${boots} boots, ${cuts} power cuts during boot, all outputs distinct`);
});

test('the carry is sealed in the store and an unreadable carry does not stop the generator', (t) => {
  const secret = randomBytes(32);
  const seed = randomBytes(48);
  const backing = memoryBacking(8 * 4096);
  const first = boot(backing, secret, seed);
  const store = openStore(openSimFlash(backing, KALUMA), {});
  t.deepEqual(store.read(RANDOM_STATE_KEY), { ok: false, reason: 'no-seal-key' }, 'sealed');
  // Another unit's key cannot read the carry: the boot still produces fresh output.
  const other = openStore(openSimFlash(backing, KALUMA), { seal: deviceKeys(jsCrypto, randomBytes(32)).cipher('store-seal') });
  const random = unitRandom(jsCrypto, seed, NONE, other);
  const out = Buffer.from(random.bytes(48)).toString('hex');
  t.not(out, first);
  t.is(random.note(), 'no previous carry: not-authentic');
  t.is(random.quality(), 'none');
});
