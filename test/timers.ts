/**
 * Simulated time for host tests of device modules: replaces the global setTimeout and clearTimeout
 * (what device code schedules one-off work with) by a queue that runs only when the test advances
 * the clock. Intervals stay real. Use it in serial tests only (it swaps a global of the worker),
 * and restore it in a teardown.
 */
export interface ManualTimeouts {
  /** Runs every timeout due within `ms` of simulated time, in order (also those they schedule). */
  advance(ms: number): void;
  /** Timeouts still queued. */
  pending(): number;
  restore(): void;
}

export function manualTimeouts(): ManualTimeouts {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  let now = 0;
  let next = 1;
  const queue: { id: number; at: number; run: () => void }[] = [];
  globalThis.setTimeout = ((run: () => void, ms?: number) => {
    const id = next++;
    queue.push({ id, at: now + (ms ?? 0), run });
    return id;
  }) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((id: number) => {
    const i = queue.findIndex((q) => q.id === id);
    if (i >= 0) queue.splice(i, 1);
  }) as unknown as typeof clearTimeout;
  return {
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        let best = -1;
        for (let i = 0; i < queue.length; i++) if (queue[i]!.at <= until && (best < 0 || queue[i]!.at < queue[best]!.at)) best = i;
        if (best < 0) break;
        const [due] = queue.splice(best, 1);
        now = due!.at;
        due!.run();
      }
      now = until;
    },
    pending: () => queue.length,
    restore() {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
}
