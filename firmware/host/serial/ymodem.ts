/**
 * YMODEM-1K sender, as Kaluma's REPL receives it (`.flash -w`: kaluma-project/kaluma 1.2.1
 * src/ymodem.c) and @kaluma/cli sends it (util/ymodem.js): every packet is STX (1,024 bytes),
 * CRC-16/XMODEM big-endian; block 0 is the file header `name NUL size SP` zero-filled; the last
 * data block is padded with 0xFF; after the data, EOT, then an empty block 0 ends the session.
 * The sender is a pure state machine (bytes in → bytes out), so the same code drives a serial
 * port, a simulated receiver in tests, and the dry run that writes the exact bytes to a file.
 */

export const STX = 0x02;
export const EOT = 0x04;
export const ACK = 0x06;
export const NAK = 0x15;
export const CAN = 0x18;
export const CRC_REQUEST = 0x43; // 'C'
export const BLOCK = 1024;

/** CRC-16/XMODEM: polynomial 0x1021, initial 0, no reflection (check value 0x31C3 for "123456789"). */
export function crc16xmodem(data: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) {
    crc ^= data[i]! << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** One STX packet: STX, seq, 255 − seq, 1,024 bytes, CRC high, CRC low. */
export function packet(seq: number, payload: Uint8Array): Uint8Array {
  if (payload.length !== BLOCK) throw new RangeError('ymodem: a packet carries exactly 1024 bytes');
  const out = new Uint8Array(3 + BLOCK + 2);
  out[0] = STX;
  out[1] = seq & 0xff;
  out[2] = 0xff - (seq & 0xff);
  out.set(payload, 3);
  const crc = crc16xmodem(payload);
  out[3 + BLOCK] = crc >> 8;
  out[4 + BLOCK] = crc & 0xff;
  return out;
}

/** Block 0: `name` NUL decimal `size` SP, zero-filled (the size is left out when it is 0, as the cli does). */
export function headerBlock(name: string, size: number): Uint8Array {
  const text = name + '\0' + (size > 0 ? String(size) + ' ' : '');
  const block = new Uint8Array(BLOCK);
  for (let i = 0; i < text.length; i++) block[i] = text.charCodeAt(i);
  return block;
}

/** The data blocks, the last padded with 0xFF. */
export function dataBlocks(data: Uint8Array): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += BLOCK) {
    const block = new Uint8Array(BLOCK).fill(0xff);
    block.set(data.subarray(at, at + BLOCK));
    blocks.push(block);
  }
  return blocks;
}

export type SenderState = 'waiting' | 'header' | 'data' | 'eot' | 'end' | 'done' | 'cancelled';

/**
 * The sender's reactions, as @kaluma/cli's handler: the first 'C' sends the header; each ACK sends
 * the next packet, then EOT, then the end-of-session block; NAK repeats the last thing sent; CAN
 * cancels; anything else is ignored.
 */
export class YmodemSender {
  state: SenderState = 'waiting';
  private readonly packets: Uint8Array[];
  private next = 0;
  private last: Uint8Array = new Uint8Array(0);

  constructor(name: string, data: Uint8Array) {
    this.packets = [packet(0, headerBlock(name, data.length))];
    dataBlocks(data).forEach((block, i) => this.packets.push(packet(i + 1, block)));
  }

  /** Bytes to send in answer to one byte received. */
  receive(byte: number): Uint8Array {
    if (byte === CAN) {
      this.state = 'cancelled';
      return new Uint8Array(0);
    }
    if (this.state === 'waiting') {
      if (byte !== CRC_REQUEST) return new Uint8Array(0);
      this.state = 'header';
      return this.send(this.packets[this.next++]!);
    }
    if (byte === NAK && this.state !== 'done') return this.last;
    if (byte !== ACK) return new Uint8Array(0);
    if (this.state === 'header' || this.state === 'data') {
      if (this.next < this.packets.length) {
        this.state = 'data';
        return this.send(this.packets[this.next++]!);
      }
      this.state = 'eot';
      return this.send(new Uint8Array([EOT]));
    }
    if (this.state === 'eot') {
      this.state = 'end';
      return this.send(packet(0, new Uint8Array(BLOCK)));
    }
    if (this.state === 'end') this.state = 'done';
    return new Uint8Array(0);
  }

  private send(bytes: Uint8Array): Uint8Array {
    this.last = bytes;
    return bytes;
  }
}
