import test, { type ExecutionContext } from 'ava';
import smartPlug from '../examples/smart-plug/image';
import { HOST_PARTITIONS } from '../boards/host/board';
import { memoryBacking, openSimFlash, type FlashBacking } from '../boards/host/flash';
import { partition } from '../hal/flash';
import { changePassword, deviceInfo, login, setWifi, wifiState, type Session } from '../firmware/host/client';
import { SIM_HOME_NETWORK, startSimulator, type Simulator } from '../firmware/host/simulator';
import { parseSetupKey } from '../modules/channel/setup';
import { FAILS_KEY } from '../modules/accounts';
import { parseHeader, parseRecord, SECTOR_HEADER, TYPE_SET } from '../modules/store/format';
import { openStore } from '../modules/store/store';
import { WIPE_KEY } from '../modules/wipe';

/**
 * The factory data wipe (modules/wipe, S1.1-15) on the simulated smart plug: what it deletes, what it
 * keeps, and a power cut at every flash operation of it. The user's values are taken from the flash
 * itself before the wipe: every stored record of a key the wipe deletes, byte for byte as it lies
 * on the flash (sealed ones in their sealed form, superseded ones too), and the owner's plain
 * settings; afterwards a scan of the whole flash must find none of them.
 */

const PASSWORD = 'Juniper-otter 47 lantern';
const PULL_URL = 'http://updates.example.net/hs-plug-01/latest.cose';
const UID = 'c0ffee00d1ce0001';

interface Prepared {
  bytes: Uint8Array;
  setupKey: Uint8Array;
  defaultPassword: string;
  /** Raw bytes of every record of a wiped key, and the owner's plain values. */
  userBytes: { key: string; bytes: Uint8Array }[];
}

function copyOf(bytes: Uint8Array): FlashBacking {
  const b = memoryBacking(bytes.length);
  b.store(0, bytes);
  return b;
}

function found(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.length));
}

/** Every SET record in the state partition of `bytes` (the whole flash): its key and its bytes as stored. */
function storedRecords(bytes: Uint8Array): { key: string; bytes: Uint8Array }[] {
  const out: { key: string; bytes: Uint8Array }[] = [];
  const { offset, size } = HOST_PARTITIONS.state;
  for (let s = offset; s < offset + size; s += 4096) {
    const sector = bytes.subarray(s, s + 4096);
    if (!parseHeader(sector).valid) continue;
    let at = SECTOR_HEADER;
    for (;;) {
      const p = parseRecord(sector, at);
      if (!p) break;
      if (p.type === TYPE_SET) out.push({ key: p.key, bytes: sector.slice(at, at + p.size) });
      at += p.size;
    }
  }
  return out;
}

/** The plain keys of the store in `bytes` (the marker is plain). */
function plainStore(bytes: Uint8Array): ReturnType<typeof openStore> {
  return openStore(partition(openSimFlash(copyOf(bytes)), HOST_PARTITIONS.state.offset, HOST_PARTITIONS.state.size));
}

async function until<T>(what: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A unit in use: password changed, joined to the home network, an update URL set, the relay on,
 * and one failed login after the last good one (the lockout's count, which a wipe keeps).
 */
async function prepare(): Promise<Prepared> {
  const backing = memoryBacking(1024 * 1024);
  const sim = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096, backing, uid: UID });
  try {
    const setupKey = parseSetupKey(sim.label!.setupKey)!;
    await changePassword(await login(sim.url, sim.label!.defaultPassword, setupKey), setupKey, PASSWORD, { iterations: 4096 });
    const s = await login(sim.url, PASSWORD, setupKey);
    await setWifi(s, SIM_HOME_NETWORK.ssid, SIM_HOME_NETWORK.passphrase);
    await until(async () => ((await wifiState(s)).joined ? true : undefined));
    const settings = await s.call('PUT', '/api/update/settings', { auto: false, url: PULL_URL });
    if (settings.status !== 200) throw new Error('settings ' + settings.status);
    const relay = await s.call('PUT', '/api/relay', { on: true });
    if (relay.status !== 200) throw new Error('relay ' + relay.status);
    const bytes = backing.read(0, backing.size);
    const userBytes = storedRecords(bytes).filter((r) => r.key !== FAILS_KEY);
    userBytes.push({ key: 'the update URL in plain', bytes: new TextEncoder().encode(PULL_URL) });
    return { bytes, setupKey, defaultPassword: sim.label!.defaultPassword, userBytes };
  } finally {
    sim.stop();
  }
}

let prepared: Promise<Prepared> | undefined;
const unitInUse = (): Promise<Prepared> => (prepared ??= prepare());

/** Checks a unit that has finished a wipe: nothing of the user's on the flash, the factory state of the user's side, the rest kept. */
async function checkWiped(t: ExecutionContext, p: Prepared, sim: Simulator, where: string): Promise<void> {
  const now = sim.backing.read(0, sim.backing.size);
  for (const u of p.userBytes) t.is(found(now, u.bytes), -1, where + ': a record of ' + u.key + ' is still on the flash');
  const { provisioning, bootctl, slots } = HOST_PARTITIONS;
  const same = (r: { offset: number; size: number }): boolean => Buffer.compare(Buffer.from(now.subarray(r.offset, r.offset + r.size)), Buffer.from(p.bytes.subarray(r.offset, r.offset + r.size))) === 0;
  t.true(same(provisioning), where + ': the provisioning record is kept');
  t.true(same(bootctl), where + ': the boot control record (version, counter floor, trusted keys) is kept');
  for (const s of slots) t.true(same(s), where + ': the firmware slots are kept');
  t.false(plainStore(now).keys().includes(WIPE_KEY), where + ': the wipe finished');
  const info = await deviceInfo(sim.url);
  t.is(info.firmwareVersion, smartPlug.config.firmwareVersion);
  t.is((info.status as { securityCounter: number }).securityCounter, 0);
  // The label's password again, with the forced change; the user's password is gone.
  const first = await login(sim.url, p.defaultPassword, p.setupKey);
  t.true(first.mustChange, where + ': the forced change is back');
  await t.throwsAsync(login(sim.url, PASSWORD, p.setupKey), undefined, where + ': the old password fails');
  // No Wi-Fi credentials: the setup access point is open again, the relay off, no update URL.
  t.true(sim.wifi.ap()?.open === true, where + ': the setup access point reopened');
  t.is(sim.wifi.joined(), null);
  t.false(sim.io.outputs.relay === true, where + ': the relay is back off');
}

/** Boots a unit from `bytes`; `cut` (when given) cuts the power at that flash operation from the wipe request on. */
async function wipeRun(p: Prepared, cut?: number): Promise<{ sim: Simulator; cutCame: boolean; operations: number }> {
  const sim = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096, backing: copyOf(p.bytes), uid: UID });
  const s: Session = await login(sim.url, PASSWORD, p.setupKey);
  // One failure after the last success: the lockout's count, which the wipe keeps.
  await t_expectFail(sim, p);
  const flash = sim.flash;
  const before = flash.operations;
  if (cut !== undefined) flash.cutAt(before + cut);
  const rebooted = sim.nextBoot();
  rebooted.catch(() => undefined);
  let cutCame = false;
  try {
    const a = await s.call('POST', '/api/wipe', { confirm: 'wipe' });
    if (a.status !== 202) throw new Error('wipe ' + a.status);
    await Promise.race([rebooted, new Promise((r) => setTimeout(r, 3000))]);
  } catch (error) {
    cutCame = true;
  }
  // The wipe's power-on (the restart is another).
  if (flash.dead) cutCame = true;
  const operations = flash.operations - before;
  return { sim, cutCame, operations };
}

async function t_expectFail(sim: Simulator, p: Prepared): Promise<void> {
  try {
    await login(sim.url, 'not the password at all', p.setupKey);
  } catch (error) {
    return;
  }
  throw new Error('a wrong password logged in');
}

test.serial('a wipe deletes everything of the user\'s, erased from the flash, and keeps the identity, the firmware, its counter, the trusted keys and the lockout count', async (t) => {
  const p = await unitInUse();
  t.true(p.userBytes.length >= 5, 'the unit in use holds the user\'s records: ' + p.userBytes.length);
  for (const u of p.userBytes) t.not(found(p.bytes, u.bytes), -1, 'the scan sees the user\'s values before the wipe');
  const failsBefore = plainStore(p.bytes).get(FAILS_KEY);
  const { sim, cutCame } = await wipeRun(p);
  t.teardown(() => sim.stop());
  t.false(cutCame);
  t.true(sim.boots >= 2, 'the unit restarted');
  const fails = plainStore(sim.backing.read(0, sim.backing.size)).get(FAILS_KEY);
  t.truthy(fails);
  t.true(fails![0] >= 1, 'the lockout\'s failure count is kept');
  t.truthy(failsBefore);
  await checkWiped(t, p, sim, 'after the wipe');
});

test.serial('a hostile or unconfirmed wipe request is refused with a reason and deletes nothing', async (t) => {
  const p = await unitInUse();
  const sim = await startSimulator({ image: smartPlug, quiet: true, iterations: 4096, backing: copyOf(p.bytes), uid: UID });
  t.teardown(() => sim.stop());
  const s = await login(sim.url, PASSWORD, p.setupKey);
  for (const body of [undefined, {}, { confirm: true }, { confirm: 'WIPE' }, { confirm: ['wipe'] }, 'wipe', { confirm: 'wipe '.repeat(200) }]) {
    const a = await s.call('POST', '/api/wipe', body);
    t.is(a.status, 400, JSON.stringify(body));
    t.is((a.body as { error: string }).error, 'confirm-required');
  }
  const plain = await fetch(sim.url + '/api/wipe', { method: 'POST', body: '{"confirm":"wipe"}', headers: { 'Content-Type': 'application/json' } });
  t.is(plain.status, 401, 'no session: refused');
  t.is((await s.call('GET', '/api/update/settings')).status, 200, 'still logged in: nothing was deleted');
  t.is(found(sim.backing.read(0, sim.backing.size), new TextEncoder().encode(PULL_URL)) >= 0, true);
});

test.serial('a power cut at every flash operation of a wipe leaves the unit as it was, or wiped once it is powered again', async (t) => {
  t.timeout(600000);
  const p = await unitInUse();
  const whole = await wipeRun(p);
  whole.sim.stop();
  const total = whole.operations;
  t.true(total > 10, 'operations of a wipe: ' + total);
  let kept = 0;
  let resumed = 0;
  for (let cut = 1; cut <= total; cut++) {
    if (process.env.HOSHI_CUT && Number(process.env.HOSHI_CUT) !== cut) continue;
    const run = await wipeRun(p, cut);
    const sim = run.sim;
    try {
      if (!run.cutCame) {
        // The cut fell after the wipe's last write (the restart's own boot did the rest).
        await checkWiped(t, p, sim, 'cut ' + cut);
        continue;
      }
      const bytes = sim.backing.read(0, sim.backing.size);
      const marker = plainStore(bytes).keys().includes(WIPE_KEY);
      // Powered again: a wipe that had begun finishes, and restarts the unit once more.
      const next = sim.reboot().then(() => (marker ? sim.nextBoot() : undefined));
      if (await next) {
        resumed++;
        await checkWiped(t, p, sim, 'cut ' + cut + ', resumed');
      } else {
        const after = sim.backing.read(0, sim.backing.size);
        const wiped = !storedRecords(after).some((r) => r.key === 'acct.verifier');
        if (wiped) await checkWiped(t, p, sim, 'cut ' + cut + ', finished before the cut');
        else {
          kept++;
          // Nothing was deleted: the user's password still logs in.
          const s = await login(sim.url, PASSWORD, p.setupKey);
          t.is((await s.call('GET', '/api/update/settings')).status, 200, 'cut ' + cut + ': the unit is as it was');
        }
      }
    } finally {
      sim.stop();
    }
  }
  t.log('cut points: ' + total + ', unit as it was: ' + kept + ', wipe resumed at the next boot: ' + resumed);
  t.true(resumed > 0);
});
