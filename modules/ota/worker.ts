import type { Flash } from '../../hal/flash';
import { Boot, readBootRecord, runningSlot, SlotState, UPDATE_REASONS, writeBootRecord, type BootRecord } from '../../firmware/device/core/bootctl';
import { putU32 } from '../../firmware/device/core/bytes';
import { sha256Stream } from '../crypto/sha256';
import { crc32 } from '../../firmware/device/core/crc32';
import { json, problem, type HttpRequest, type HttpResponse, type ModuleContext } from '../../firmware/device/core/module';
import { checkManifest, Kind, parsePackageHead, type DeviceFacts, type PackageHead } from './manifest';
import { capacityOf, checkSlot, Head, keyOf, versionText, type SlotCheck } from './verify';
import { constantTimeEqual } from '../crypto/compare';
import { pullCheck, pullSettings, pullStatus, type PullPort, type PullState } from './pull';

/**
 * The update worker: receiving a package into the inactive slot, hashing it back from flash in
 * slices, verifying it (where the image verifies), rotating keys, marking the slot for its trial
 * boot (docs/formats/update.md). modules/ota/index.ts creates it when an update request comes and
 * lets it go when it is idle again; on Kaluma its code is read from the assets only then
 * (core/code.ts), so that the running image does not hold it between updates.
 */

const enum Phase {
  IDLE = 0,
  RECEIVING = 1,
  HASHING = 2,
  RECEIVED = 3,
  VERIFYING = 4,
  RESTARTING = 5,
  REFUSED = 6,
}
const PHASES = ['idle', 'receiving', 'hashing', 'received', 'verifying', 'restarting', 'refused'];
const STATES = ['empty', 'receiving', 'received', 'verify', 'verified', 'trial', 'good', 'bad'];

export interface UpdateWorker {
  chunk(request: HttpRequest, reply: (response: HttpResponse) => void): void;
  /** The package's bytes at `offset`, from any transport (the upload route, a pull): 202 or a refusal. */
  accept(offset: number, bytes: Uint8Array): HttpResponse;
  install(reply: (response: HttpResponse) => void): void;
  cancel(reply: (response: HttpResponse) => void): void;
  /** The whole state; with `pull`, the last check too (pull.ts). */
  state(pull?: PullState): HttpResponse;
  /** Nothing in progress (no upload, no timer, no pull): the worker may be dropped. */
  idle(): boolean;
  /** A check of the release URL (pull.ts `pullCheck`): 202 once started (`done` when it ends), or why not. */
  pull(pull: PullState, done: () => void): HttpResponse;
  /** `GET`/`PUT /api/update/settings` (pull.ts `pullSettings`). */
  settings(request: HttpRequest, pull: PullState): HttpResponse;
  /**
   * Confirms the image booted on trial (board.loader.trial): one boot-record write makes its slot
   * the active one, good, and raises the counter floor to its counter.
   */
  confirm(): void;
}

/** `restartDelay`: ms between the last step and the restart, so that the answer that caused it is sent. */
export function createWorker(context: ModuleContext, restartDelay: number): UpdateWorker {
  const board = context.board;
  const support = board.update!;
  const bootctl = board.partitions.bootctl!;
  const slots = board.partitions.slots!;
  const provisioned: Uint8Array[] = (context.provisioning && context.provisioning.updateKeys) || [];
  const config = context.config;
  const crypto = board.crypto;

  let phase = Phase.IDLE;
  let head: PackageHead | undefined;
  let headBytes: Uint8Array | undefined;
  let headFill = 0;
  // Package bytes accepted; payload bytes written to flash; payload bytes hashed.
  let got = 0;
  let written = 0;
  let hashed = 0;
  let target = 0;
  let page: Uint8Array | undefined;
  let pageFill = 0;
  let hash: ReturnType<typeof sha256Stream> | undefined;
  let check: SlotCheck | undefined;
  let install = false;
  let refusedCode = '';
  let refusedReason = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A check of the release URL is running (pull.ts): the worker is not idle meanwhile.
  let pulling = false;

  const publish = function (r: BootRecord): void {
    context.status.securityCounter = r.floor;
    context.status.update = PHASES[phase];
  };
  const record0 = readBootRecord(bootctl);
  publish(record0);

  const facts = function (r: BootRecord, slot: Flash): DeviceFacts {
    return {
      vendor: config.vendor,
      model: config.model,
      runtime: support.runtime,
      board: board.name,
      version: config.firmwareVersion,
      counterFloor: r.floor,
      capacity: capacityOf(slot),
      keyState: function (kid: Uint8Array): 'trusted' | 'retired' | 'unknown' {
        const k = keyOf(crypto, kid, r, provisioned);
        return typeof k === 'string' ? k : 'trusted';
      },
    };
  };

  const refuse = function (code: string, reason: string, markSlot: boolean): HttpResponse {
    phase = Phase.REFUSED;
    refusedCode = code;
    refusedReason = reason;
    stopTimer();
    page = undefined;
    headBytes = undefined;
    hash = undefined;
    check = undefined;
    const r = readBootRecord(bootctl);
    if (markSlot) {
      const info = r.slots[target];
      if (info.state !== SlotState.GOOD || target !== r.active) {
        info.state = SlotState.BAD;
        info.reason = UPDATE_REASONS.indexOf(code) > 0 ? UPDATE_REASONS.indexOf(code) : 0;
        writeBootRecord(bootctl, r);
      }
    }
    console.log('[hoshi] update refused: ' + code);
    context.event('update-refused', code);
    publish(r);
    return problem(422, code, reason);
  };
  const stopTimer = function (): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };

  // The payload goes to flash a sector at a time: erased, then written in one call (the last one
  // up to its last whole write unit, padded with FF). One sector of RAM whatever the image's size.
  const flush = function (slot: Flash): void {
    if (!page || pageFill === 0) return;
    const at = Boot.SLOT_HEADER + written;
    const n = Math.ceil(pageFill / slot.writeSize) * slot.writeSize;
    for (let i = pageFill; i < n; i++) page[i] = 0xff;
    slot.erase(at, slot.eraseSize);
    slot.write(at, n === page.length ? page : page.subarray(0, n));
    written += pageFill;
    pageFill = 0;
  };
  const writePayload = function (slot: Flash, data: Uint8Array, from: number): void {
    for (let i = from; i < data.length; i++) {
      page![pageFill++] = data[i];
      if (pageFill === page!.length) flush(slot);
    }
  };

  /** Starts a new slot once the head has passed its checks: nothing is written before. */
  const begin = function (h: PackageHead): HttpResponse | undefined {
    const r = readBootRecord(bootctl);
    target = 1 - runningSlot(r);
    const slot = slots[target];
    const m = h.manifest;
    const f = facts(r, slot);
    // Checked again at install, signature included: this only spares the upload of a package the unit would refuse.
    const bad = checkManifest(m, f);
    if (bad) return refuse(bad.code, bad.reason, false);
    const info = r.slots[target];
    info.state = SlotState.RECEIVING;
    info.reason = 0;
    info.version = m.kind === Kind.IMAGE ? versionNumbers(m.version) : [0, 0, 0];
    info.counter = m.counter;
    info.size = m.size;
    info.app = m.app;
    info.received = 0;
    info.digest = new Uint8Array(32);
    info.kid = h.kid;
    writeBootRecord(bootctl, r);
    // The slot's header: the package head, then FF.
    slot.erase(0, slot.eraseSize);
    const l = h.payloadOffset;
    const header = new Uint8Array(Math.ceil((4 + l) / slot.writeSize) * slot.writeSize);
    header.fill(0xff);
    putU32(header, 0, l);
    header.set(headBytes!.subarray(0, l), 4);
    slot.write(0, header);
    page = new Uint8Array(slot.eraseSize);
    pageFill = 0;
    written = 0;
    hashed = 0;
    // In JavaScript a slice at a time where the slot cannot hash itself in place (Flash.sha256).
    hash = slot.sha256 ? undefined : sha256Stream();
    head = h;
    phase = Phase.RECEIVING;
    return undefined;
  };

  const afterHash = function (digest: Uint8Array): void {
    const m = head!.manifest;
    if (m.kind === Kind.IMAGE && (!m.digest || !constantTimeEqual(digest, m.digest))) {
      refuse('digest-mismatch', 'the payload received does not have the SHA-256 the manifest signs', true);
      return;
    }
    const r = readBootRecord(bootctl);
    const info = r.slots[target];
    info.state = SlotState.RECEIVED;
    info.received = m.size;
    info.digest = digest;
    writeBootRecord(bootctl, r);
    phase = Phase.RECEIVED;
    publish(r);
    if (install) proceed();
  };

  // Hashing follows the writer, a slice per turn of the event loop, reading back what is in flash.
  const hashSlice = function (): void {
    timer = undefined;
    if (phase !== Phase.RECEIVING && phase !== Phase.HASHING) return;
    const slot = slots[target];
    const size = head!.manifest.size;
    if (slot.sha256) {
      // Native and in place (Espruino): one call once every byte is written.
      if (written < size) return;
      afterHash(slot.sha256(Boot.SLOT_HEADER, size));
      return;
    }
    const n = Math.min(support.hashSlice, written - hashed);
    if (n > 0) {
      hash!.update(slot.read(Boot.SLOT_HEADER + hashed, n));
      hashed += n;
    }
    if (hashed === size) {
      const digest = hash!.digest();
      hash = undefined;
      afterHash(digest);
      return;
    }
    if (hashed < written) timer = setTimeout(hashTask, 1);
  };

  // A slice that throws (the flash failing under it) ends the update, reported as a task's failure
  // is (firmware/device/boot.ts): it would otherwise reach the runtime, which on Espruino drops
  // the interval for good and on Kaluma prints and goes on.
  const task = function (slice: () => void): () => void {
    return function (): void {
      timer = undefined;
      try {
        slice();
      } catch (error) {
        phase = Phase.IDLE;
        console.log('[hoshi] task-failed: update: ' + String((error as Error).message || error));
      }
    };
  };
  const hashTask = task(function (): void {
    hashSlice();
  });
  const verifyTask = task(function (): void {
    verifySlice();
  });

  /** After the digest: verification here or at the next boot, then the trial boot. */
  const proceed = function (): void {
    const r = readBootRecord(bootctl);
    if (support.verifyIn === 'loader') {
      r.slots[target].state = SlotState.VERIFY;
      writeBootRecord(bootctl, r);
      context.event('update-received', 'AB'.charAt(target));
      restart('the loader verifies the update at this boot', r);
      return;
    }
    phase = Phase.VERIFYING;
    publish(r);
    check = checkSlot(crypto, slots[target], target, r, provisioned, facts(r, slots[target]), support.signatureSteps!);
    timer = setTimeout(verifyTask, 1);
  };
  const verifySlice = function (): void {
    timer = undefined;
    if (phase !== Phase.VERIFYING || !check) return;
    const result = check.step();
    if (result === 0) {
      timer = setTimeout(verifyTask, 1);
      return;
    }
    const c = check;
    check = undefined;
    if (result !== '') {
      refuse(result as string, c.reason, true);
      return;
    }
    const r = readBootRecord(bootctl);
    const m = c.head!.manifest;
    if (m.kind === Kind.KEYS) {
      const why = rotate(r, m.add, m.retire, c.head!.kid);
      if (why) {
        refuse('key-rotation-refused', why, true);
        return;
      }
      r.slots[target].state = SlotState.EMPTY;
      writeBootRecord(bootctl, r);
      phase = Phase.IDLE;
      publish(r);
      console.log('[hoshi] update keys rotated');
      context.event('key-rotation', 'counter ' + m.counter);
      return;
    }
    r.slots[target].state = SlotState.VERIFIED;
    writeBootRecord(bootctl, r);
    context.event('update', m.version + ' counter ' + m.counter);
    restart('a verified update boots on trial', r);
  };
  const restart = function (why: string, r: BootRecord): void {
    phase = Phase.RESTARTING;
    publish(r);
    console.log('[hoshi] restarting: ' + why);
    setTimeout(function (): void {
      board.power.reboot('update');
    }, restartDelay);
  };

  /** Adds and retires keys as a verified rotation package says (docs/formats/update.md §2.2). */
  const rotate = function (r: BootRecord, add: Uint8Array | undefined, retire: Uint8Array | undefined, signer: Uint8Array): string {
    if (add) {
      const kid = crypto.sha256(add).subarray(0, 8);
      const known = keyOf(crypto, kid, r, provisioned);
      if (known === 'retired') return 'the key to add was retired before: a retired key is never trusted again';
      if (known === 'unknown') {
        if (r.keys.length >= Boot.MAX_KEYS) return 'the unit already holds its largest number of added keys';
        r.keys.push({ kid: new Uint8Array(kid), key: new Uint8Array(add) });
      }
    }
    if (retire) {
      if (keyOf(crypto, retire, r, provisioned) === 'unknown') return 'the key to retire is not one this unit trusts';
      if (r.retired.length >= Boot.MAX_RETIRED) return 'the unit already holds its largest number of retired keys';
      if (constantTimeEqual(retire, signer) && !add) return 'a package may retire its own signer only while adding another key';
      let left = provisioned.length + r.keys.length - r.retired.length - 1;
      if (left < 1) return 'the last trusted key cannot be retired';
      r.retired.push(new Uint8Array(retire));
    }
    return '';
  };

  const state = function (pull?: PullState): HttpResponse {
    const r = readBootRecord(bootctl);
    const slotsOut = [];
    for (let i = 0; i < 2; i++) {
      const s = r.slots[i];
      slotsOut.push({ state: STATES[s.state] || 'unknown', version: versionText(s.version), counter: s.counter, reason: UPDATE_REASONS[s.reason] || '' });
    }
    return json(200, {
      phase: PHASES[phase],
      running: { slot: runningSlot(r), version: config.firmwareVersion, trial: !!(board.loader && board.loader.trial) },
      securityCounter: r.floor,
      received: got,
      total: head ? head.payloadOffset + head.manifest.size : 0,
      hashed: hashed,
      install: install,
      error: refusedCode || undefined,
      reason: refusedReason || undefined,
      slots: slotsOut,
      check: pull ? pullStatus(pull, board.clock.now()) : undefined,
    });
  };

  const chunk = function (request: HttpRequest, reply: (r: HttpResponse) => void): void {
    let d: { offset?: unknown; crc?: unknown } | undefined;
    try {
      d = JSON.parse(String.fromCharCode.apply(null, request.sealed as unknown as number[]));
    } catch (e) {
      d = undefined;
    }
    if (!d || typeof d.offset !== 'number' || typeof d.crc !== 'number') return reply(problem(400, 'chunk-malformed', 'the protected request must be {"offset": N, "crc": CRC-32 of the chunk}'));
    const body = request.body;
    if (d.crc !== crc32(body, 0, body.length)) return reply(problem(400, 'chunk-corrupt', 'the chunk does not have the CRC-32 its protected request states'));
    reply(accept(d.offset, body));
  };

  /** Takes the package's bytes at `offset` (from an upload's chunk, or a pull's response body). */
  const accept = function (offset: number, body: Uint8Array): HttpResponse {
    const reply = function (r: HttpResponse): HttpResponse {
      return r;
    };
    const d = { offset: offset };
    // A write the flash refuses (or a power cut on the host) ends the upload, reported.
    if (phase === Phase.VERIFYING || phase === Phase.RESTARTING) return reply(problem(409, 'update-busy', 'an update is being verified or installed'));
    if (d.offset === 0) {
      // Starting again: whatever was received is dropped (the slot is rewritten from its start).
      stopTimer();
      got = 0;
    } else if (d.offset !== got || phase !== Phase.RECEIVING) {
      const next = phase === Phase.RECEIVING ? got : 0;
      return reply(json(409, { error: 'offset-mismatch', reason: 'the next chunk starts at offset ' + next, offset: next }));
    }
    if (got === 0) {
      phase = Phase.RECEIVING;
      install = false;
      refusedCode = '';
      refusedReason = '';
      head = undefined;
      headBytes = new Uint8Array(Head.MAX);
      headFill = 0;
    }
    let from = 0;
    if (!head) {
      while (from < body.length && headFill < Head.MAX) headBytes![headFill++] = body[from++];
      const parsed = parsePackageHead(headBytes!.subarray(0, headFill));
      if (!parsed.ok) {
        if (parsed.code === 'package-truncated' && headFill < Head.MAX) {
          got += body.length;
          return reply(json(202, { received: got }));
        }
        return reply(refuse(parsed.code === 'package-truncated' ? 'package-too-large' : parsed.code, parsed.reason, false));
      }
      const refused = begin(parsed.value);
      if (refused) return reply(refused);
      // Bytes past the head in what was taken are payload.
      from = from - (headFill - parsed.value.payloadOffset);
    }
    const size = head!.manifest.size;
    const total = head!.payloadOffset + size;
    if (got + body.length > total) return reply(refuse('size-mismatch', 'the package is longer than its manifest says', true));
    writePayload(slots[target], body, from);
    got += body.length;
    if (got === total) {
      flush(slots[target]);
      phase = Phase.HASHING;
    }
    if (timer === undefined) timer = setTimeout(hashTask, 1);
    publish(readBootRecord(bootctl));
    return json(202, { received: got, total: total });
  };

  const port = function (): PullPort {
    return {
      context: context,
      facts: function (): DeviceFacts {
        const r = readBootRecord(bootctl);
        return facts(r, slots[1 - runningSlot(r)]);
      },
      accept: accept,
      install: self.install,
      cancel: self.cancel,
    };
  };

  const self: UpdateWorker = {
    chunk: chunk,
    accept: accept,
    confirm: function (): void {
      const loader = board.loader!;
      const r = readBootRecord(bootctl);
      const s = loader.slot;
      if (r.trial !== s) return;
      r.active = s;
      r.trial = Boot.NO_TRIAL;
      r.tries = 0;
      r.slots[s].state = SlotState.GOOD;
      r.slots[s].reason = 0;
      if (r.slots[s].counter > r.floor) r.floor = r.slots[s].counter;
      writeBootRecord(bootctl, r);
      loader.confirmed();
      publish(r);
      console.log('[hoshi] update to slot ' + 'AB'.charAt(s) + ' confirmed');
      context.event('update-confirmed', 'AB'.charAt(s) + ' counter ' + r.floor);
    },
    state: state,
    idle: function (): boolean {
      return timer === undefined && phase === Phase.IDLE && !pulling;
    },
    pull: function (pull: PullState, done: () => void): HttpResponse {
      // Not over an upload in progress; after a refused one, a pull starts again from offset 0.
      if (pulling || timer !== undefined || (phase !== Phase.IDLE && phase !== Phase.REFUSED)) return problem(409, 'update-busy', 'an update or a check is in progress');
      pulling = true;
      const r = pullCheck(port(), pull, function (): void {
        pulling = false;
        done();
      });
      if (r.status !== 202) pulling = false;
      return r;
    },
    settings: function (request: HttpRequest, pull: PullState): HttpResponse {
      return pullSettings(port(), pull, request);
    },
    install: function (reply: (response: HttpResponse) => void): void {
      if (phase === Phase.REFUSED) return reply(problem(409, refusedCode, refusedReason));
      if (phase === Phase.IDLE || (phase === Phase.RECEIVING && got === 0)) return reply(problem(409, 'no-update', 'no package has been received'));
      // Install says the client has sent everything: a package that stopped short is refused.
      if (phase === Phase.RECEIVING) {
        const total = head ? head.payloadOffset + head.manifest.size : 0;
        return reply(refuse('package-truncated', 'the package ended at byte ' + got + (total ? ' of the ' + total + ' its manifest says' : ', inside its head'), !!head));
      }
      if (phase === Phase.HASHING) {
        install = true;
        return reply(json(202, { phase: PHASES[phase], install: true }));
      }
      if (phase === Phase.RECEIVED) {
        install = true;
        reply(json(202, { phase: 'installing' }));
        proceed();
        return;
      }
      reply(problem(409, 'update-busy', 'an update is being verified or installed'));
    },
    cancel: function (reply: (response: HttpResponse) => void): void {
      if (phase === Phase.VERIFYING || phase === Phase.RESTARTING) return reply(problem(409, 'update-busy', 'an update is being verified or installed'));
      stopTimer();
      const r = readBootRecord(bootctl);
      if (head && (r.slots[target].state === SlotState.RECEIVING || r.slots[target].state === SlotState.RECEIVED)) {
        r.slots[target].state = SlotState.EMPTY;
        writeBootRecord(bootctl, r);
      }
      phase = Phase.IDLE;
      got = 0;
      head = undefined;
      headBytes = undefined;
      page = undefined;
      install = false;
      publish(r);
      reply(json(200, { phase: 'idle' }));
    },
  };
  return self;
}

function versionNumbers(v: string): number[] {
  const p = v.split('.');
  return [Number(p[0]), Number(p[1]), Number(p[2])];
}
