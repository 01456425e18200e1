import { describe, expect, it } from 'vitest';
import { createCoalescer } from '../../src/events/bus.js';

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
};

describe('wake-up coalescing', () => {
  it('sends the first announcement at once, gathers the rest of a busy spell, and loses none', async () => {
    const sent: string[][] = [];
    const bus = createCoalescer(async (payloads) => void sent.push(payloads.map((p) => p.split(' ')[1]!)));
    bus.publish('a');
    bus.publish('b');
    bus.publish('a');
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([['a', 'b']]); // one send for the turn, one payload per tenant
    for (let i = 0; i < 100; i++) bus.publish(i % 2 ? 'a' : 'c'); // a burst right after
    expect(sent).toHaveLength(1);
    await until(() => sent.length === 2);
    expect(sent[1]!.sort()).toEqual(['a', 'c']); // the burst went out together, at the window's end
    await new Promise((resolve) => setTimeout(resolve, 20)); // quiet: the window closed
    bus.publish('d');
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.at(-1)).toEqual(['d']);
  });

  it('drops its own announcements on the way back and hands on the others', async () => {
    const heard: string[] = [];
    const own: string[] = [];
    const bus = createCoalescer(async (payloads) => void own.push(...payloads));
    bus.subscribe((tenant) => heard.push(tenant));
    bus.publish('clinic');
    await new Promise((resolve) => setImmediate(resolve));
    for (const payload of own) bus.receive(payload);
    bus.receive('other-instance shop');
    bus.receive('garbage');
    expect(heard).toEqual(['shop']);
  });
});
