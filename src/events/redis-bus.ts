import { Cluster } from 'ioredis';
import type { RedisClient } from '../cache/redis/redis-client.js';
import { createCoalescer, type EventBus } from './bus.js';

/** Wake-ups through Redis pub/sub: publishes on `client`, listens on a connection of its own. */
export function createRedisBus(client: RedisClient, prefix = 'colloquy:'): EventBus {
  const channel = `${prefix}events`;
  const coalescer = createCoalescer((payloads) => Promise.all(payloads.map((payload) => client.publish(channel, payload))));
  // The subscriber waits for the server as long as it takes (no timeout, queued until connected) and
  // resubscribes by itself after a reconnect.
  const patient = { enableOfflineQueue: true, commandTimeout: undefined };
  const subscriber = client instanceof Cluster
    ? client.duplicate(undefined, { enableOfflineQueue: true, redisOptions: { ...client.options.redisOptions, ...patient } })
    : client.duplicate(patient);
  subscriber.on('message', (from: string, payload: string) => {
    if (from === channel) coalescer.receive(payload);
  });
  subscriber.on('error', () => {}); // reconnects by itself; the 1 s poll covers the gap
  void subscriber.subscribe(channel).catch(() => {});
  return {
    publish: coalescer.publish,
    subscribe: coalescer.subscribe,
    listen() {},
    async close() {
      subscriber.disconnect();
    },
  };
}
