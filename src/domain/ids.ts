import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.allocUnsafe(4096);
let offset = pool.length;
let lastMs = -1;
let counter = 0;
const bytes = new Uint8Array(16);

/**
 * New time-ordered id (UUIDv7, RFC 9562): 48-bit Unix ms, then a 12-bit counter that restarts at a random
 * value each millisecond (so ids made in one process are strictly increasing), then 62 random bits.
 * Random bytes come from a pooled buffer: one getRandomValues per id cost as much as a SQLite insert.
 */
export function newId(): string {
  if (offset + 10 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = ((pool[offset]! << 4) | (pool[offset + 1]! >> 4)) & 0x7ff; // random start, room to count up
  } else {
    ms = lastMs;
    if (++counter > 0xfff) {
      lastMs = ms = lastMs + 1; // counter exhausted: borrow the next millisecond
      counter = 0;
    }
  }
  bytes[0] = (ms / 2 ** 40) & 0xff;
  bytes[1] = (ms / 2 ** 32) & 0xff;
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (pool[offset + 2]! & 0x3f);
  for (let i = 9; i < 16; i++) bytes[i] = pool[offset + i - 6]!;
  offset += 10;
  const h = (i: number) => HEX[bytes[i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isId = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
