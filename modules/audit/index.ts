import type { HoshiModule, ModuleContext } from '../../firmware/device/core/module';
import { openLog, type AuditLog } from './log';

/**
 * audit: the tamper-evident security log (docs/formats/audit.md): the evidence of what happened to a
 * unit's security, beyond ★1 (the EU Cyber Resilience Act asks for security logging).
 *
 * - Every security event a module records (`context.event`: the boot, logins and failed logins,
 *   lockouts, password changes, updates received, refused and confirmed, a wipe) becomes an entry
 *   in the board's `log` partition, a ring of sectors: fixed 64-byte entries, each MAC'd with
 *   HMAC-SHA-256 under the unit's `audit-log` key over the previous entry's MAC, so an entry edited,
 *   deleted or moved breaks the chain. When the ring is full its oldest sector is erased; each
 *   sector's header keeps the MAC of the entry before its first (the anchor), so the chain stays
 *   verifiable from the oldest entry kept. Events recorded at boot before the log opens (boot's own)
 *   are written as it opens.
 * - A factory wipe (modules/wipe runs `onWipe` tasks) forgets every entry (peer addresses may
 *   identify the user) and starts the chain again from the last entry's MAC with a `wipe` entry.
 * - `GET /api/log`, `{"from": <seq>, "count": <n>}` in its protected request (admin, through the admin channel): the raw entries and what
 *   a host needs to verify them, the anchor and the chain key (`hoshi log`, firmware/host/audit-log.ts).
 *   `GET /api/security` (admin): failed logins and refused updates in the last hour and since boot,
 *   the last one's time and detail, the entries kept. Their code is the reader's (read.ts), which
 *   read-code.ts supplies (log.ts `serve`).
 * - A unit without keys (not provisioned), or a board without a log partition, keeps no log and says
 *   so once on the console.
 */
export let audit = function (): HoshiModule {
  // A device composes its image once: the factory lets go of itself (firmware/device/boot.ts).
  let once = true;
  HOSHI_HOST: once = false;
  if (once) audit = undefined as never;
  return {
    name: 'audit',
    start: function (context: ModuleContext): void {
      const keys = context.keys;
      const flash = context.board.partitions.log;
      let log: AuditLog | undefined;
      try {
        if (!keys) console.log('[audit] no keys on this unit (not provisioned): the security log is not kept');
        else if (!flash || flash.size < 2 * flash.eraseSize || flash.eraseSize % 64 !== 0) console.log('[audit] this board has no log partition of two sectors: the security log is not kept');
        else log = openLog(flash, context.board.crypto, keys.key('audit-log'), context.board.clock, once, context.assets, context.board.partitions);
      } catch (error) {
        console.log('[audit] the security log is not kept: ' + String((error as Error).message || error));
      }
      if (!log) return;
      context.securityLog(log);
      context.onWipe(log.forget);
      // One handler for both routes: the log's own (no function of this one stays).
      context.route({ method: 'GET', path: '/api/log', access: 'admin', handler: log.serve });
      context.route({ method: 'GET', path: '/api/security', access: 'admin', handler: log.serve });
    },
  };
};
