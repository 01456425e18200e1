import { describe, expect, it } from 'vitest';
import { isId, newId } from '../../src/domain/ids.js';

describe('newId', () => {
  it('makes RFC 9562 UUIDv7s carrying the current time, strictly increasing and unique', () => {
    const before = Date.now();
    const ids = Array.from({ length: 50_000 }, newId);
    const after = Date.now();
    for (const id of ids.slice(0, 1000)) {
      expect(isId(id)).toBe(true);
      expect(id[14]).toBe('7'); // version
      expect('89ab').toContain(id[19]); // variant 10xx
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    const ms = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms(ids[0]!)).toBeGreaterThanOrEqual(before);
    expect(ms(ids.at(-1)!)).toBeLessThanOrEqual(after + 50); // a burst may borrow a few milliseconds ahead
  });
});
