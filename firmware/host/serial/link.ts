/**
 * A byte link to a board's serial REPL. `openSerialLink` needs the optional `serialport` package
 * (native bindings): when it is missing or failed to build, it says so and how to install it; the
 * dry runs never need it.
 */
export interface Link {
  write(bytes: Uint8Array): Promise<void>;
  /** Next byte received, or an error after `ms` of silence. */
  readByte(ms: number): Promise<number>;
  /** Text received from now until `until` matches it, or an error after `ms`. */
  expect(until: RegExp, ms: number): Promise<string>;
  /** Drops what has been received so far. */
  drain(): void;
  close(): Promise<void>;
}

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new RangeError('serial: only byte characters can be sent');
    out[i] = c;
  }
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A Link over bytes arriving from anywhere: `push` delivers received bytes. */
export class BufferedLink implements Link {
  private received: number[] = [];
  private waiters: (() => void)[] = [];

  constructor(private readonly send: (bytes: Uint8Array) => Promise<void>, private readonly onClose: () => Promise<void> = async () => {}) {}

  push(bytes: Uint8Array): void {
    for (const b of bytes) this.received.push(b);
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.send(bytes);
  }

  private wait(ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('serial: no answer from the board within ' + ms + ' ms (' + what + ')')), ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async readByte(ms: number): Promise<number> {
    while (this.received.length === 0) await this.wait(ms, 'waiting for a byte');
    return this.received.shift()!;
  }

  async expect(until: RegExp, ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = String.fromCharCode(...this.received);
      const m = until.exec(text);
      if (m) {
        this.received = this.received.slice(m.index + m[0].length);
        return text.slice(0, m.index + m[0].length);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('serial: the board did not answer ' + until + ' (last output: ' + JSON.stringify(text.slice(-200)) + ')');
      await this.wait(left, String(until));
    }
  }

  drain(): void {
    this.received = [];
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/** Opens `path` at `baudRate` through the optional `serialport` package. */
export async function openSerialLink(path: string, baudRate: number): Promise<Link> {
  let mod: any;
  try {
    const name = 'serialport';
    mod = await import(name);
  } catch {
    throw new Error('serial: the optional package "serialport" is not installed or its native binding did not build on this machine; run `npm install serialport`, or use --dry-run FILE to write the exact bytes to a file');
  }
  const port = new mod.SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e: Error | null) => (e ? reject(new Error('serial: cannot open ' + path + ': ' + e.message)) : resolve())));
  const link = new BufferedLink(
    (bytes) =>
      new Promise<void>((resolve, reject) => {
        port.write(Buffer.from(bytes), (e: Error | null) => (e ? reject(e) : port.drain(() => resolve())));
      }),
    () =>
      new Promise<void>((resolve) => {
        port.close(() => resolve());
      }),
  );
  port.on('data', (chunk: Buffer) => link.push(new Uint8Array(chunk)));
  return link;
}
