import { describe, expect, it } from 'vitest';
import { iso } from '../../src/domain/time.js';
import { random } from '../../bench/measure.js';

describe('iso(ms)', () => {
  it('formats exactly like Date#toISOString', () => {
    const next = random(3);
    const samples = [0, 1, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, 253_402_300_799_999, 253_402_300_800_000, -1, -62_198_755_200_000];
    for (let i = 0; i < 20_000; i++) samples.push(Math.floor(next() * 253_402_300_800_000));
    for (let i = 0; i < 2_000; i++) samples.push(1_795_315_439_008 + Math.floor(next() * 3 * 86_400_000)); // around "now", same days
    for (const ms of samples) expect(iso(ms)).toBe(new Date(ms).toISOString());
  });
});
