import type { Server } from 'node:http';

/** What bounds a slow, silent or greedy client. */
export interface ServerLimits {
  /** A socket that has not sent a complete request head within this is closed. Default 10 s. */
  readonly headersTimeoutMs: number;
  /** A request (head and body) must arrive within this. Default 30 s. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive socket is closed after this (longer than a load balancer's idle timeout). Default 72 s. */
  readonly keepAliveTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed (event streams excepted: they send heartbeats). Default 120 s. */
  readonly idleTimeoutMs: number;
  /** Open connections at most; beyond, new ones are refused at once. Default 10,000. */
  readonly maxConnections: number;
  /** Open event streams per key, and per server (beyond: 429). Defaults 100 and 10,000. */
  readonly streamsPerKey: number;
  readonly streamsPerServer: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, idleTimeoutMs: 120_000, maxConnections: 10_000,
  streamsPerKey: 100, streamsPerServer: 10_000,
};

/**
 * Node checks headersTimeout only on sockets that have begun a request: one that connects and sends nothing, or
 * drips its head, must be closed too, or silent sockets exhaust the file descriptors.
 */
export function closeSilentSockets(server: Server, headersTimeoutMs: number): void {
  const awaitingHead = new WeakMap<object, NodeJS.Timeout>();
  server.on('connection', (socket) => {
    const timer = setTimeout(() => socket.destroy(), headersTimeoutMs);
    timer.unref();
    awaitingHead.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (request) => clearTimeout(awaitingHead.get(request.socket)));
}
