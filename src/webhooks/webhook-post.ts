import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { hostOf, isPrivateAddress, publicLookup } from './address-policy.js';

export interface PostResult {
  ok: boolean;
  /** The receiver's HTTP status; null when no response came (timeout, connection error, refused address). */
  status: number | null;
  /** Cut short by the caller's signal (the deliverer stopping, its lease lost, the endpoint changed): not the receiver's failure. */
  cancelled?: boolean;
  latencyMs: number;
  error: string | null;
}

export interface PosterConfig {
  /** Deliveries to loopback and private addresses allowed (receivers on the server's own network). */
  allowPrivate: boolean;
  /** An attempt that has no complete answer after this long failed. Default 10 s. */
  timeoutMs?: number | undefined;
}

/** What is read of a receiver's answer before the connection is dropped: answers are discarded, not kept. */
const BODY_CAP = 64 * 1024;

/**
 * One POST of a webhook delivery. Connections are kept alive per receiver; a redirect is an answer like any
 * other non-2xx (not followed: it could lead anywhere); the target address is checked at every connection.
 */
export function createPoster(config: PosterConfig) {
  const timeoutMs = config.timeoutMs ?? 10_000;
  const options = { keepAlive: true, maxSockets: 32, ...(config.allowPrivate ? {} : { lookup: publicLookup }) } as const;
  const agents = { http: new http.Agent(options), https: new https.Agent(options) };

  return {
    post(target: string, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<PostResult> {
      const started = performance.now();
      const url = new URL(target);
      const done = (ok: boolean, status: number | null, error: string | null): PostResult => ({ ok, status, latencyMs: performance.now() - started, error });
      const host = hostOf(url);
      // An address written as such is not looked up: checked here.
      if (!config.allowPrivate && isIP(host) && isPrivateAddress(host)) {
        return Promise.resolve(done(false, null, `refused: ${host} is a loopback, private or link-local address`));
      }
      const secure = url.protocol === 'https:';
      if (signal?.aborted) return Promise.resolve({ ...done(false, null, 'cancelled before it was sent'), cancelled: true });
      return new Promise((resolve) => {
        let settled = false;
        const finish = (result: PostResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', cancel);
          resolve(result);
        };
        const cancel = () => {
          request.destroy();
          finish({ ...done(false, null, 'cancelled: the deliverer stopped, lost its lease, or the endpoint changed'), cancelled: true });
        };
        const request = (secure ? https : http).request(url, {
          method: 'POST', agent: secure ? agents.https : agents.http,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Colloquy-Webhooks/1' },
        }, (response) => {
          const status = response.statusCode ?? 0;
          let read = 0;
          response.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > BODY_CAP) response.destroy(); // enough of an answer nobody reads
          });
          const end = () => finish(done(status >= 200 && status < 300, status, status >= 200 && status < 300 ? null : `HTTP ${status}`));
          response.on('end', end);
          response.on('close', end);
          response.on('error', end);
        });
        const timer = setTimeout(() => {
          request.destroy();
          finish(done(false, null, `timeout: no complete answer within ${timeoutMs} ms`));
        }, timeoutMs);
        request.on('error', (error: NodeJS.ErrnoException) => {
          const reason = error.code === 'EPRIVATE' ? `refused: ${error.message}` : `${error.code ?? 'error'}: ${error.message}`;
          finish(done(false, null, reason.slice(0, 500)));
        });
        signal?.addEventListener('abort', cancel, { once: true });
        request.end(body);
      });
    },
    close(): void {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

export type Poster = ReturnType<typeof createPoster>;

/** Signs with every secret given (the current one, and the previous one during a rotation): `v1,<sig> v1,<sig>`. */
export function signer(secrets: readonly string[]) {
  const hooks = secrets.map((secret) => new Webhook(secret));
  return { sign: (id: string, at: Date, body: string): string => hooks.map((hook) => hook.sign(id, at, body)).join(' ') };
}

/** One attempt of one event: `{ type, timestamp, data }`, signed as Standard Webhooks at `now`. */
export function postEvent(poster: Poster, url: string, keys: ReturnType<typeof signer>, event: { id: string; type: string; timestamp: string; data: unknown }, now: number, signal?: AbortSignal): Promise<PostResult> {
  const body = JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
  const at = new Date(Math.floor(now / 1000) * 1000);
  return poster.post(url, { 'webhook-id': event.id, 'webhook-timestamp': String(at.getTime() / 1000), 'webhook-signature': keys.sign(event.id, at, body) }, body, signal);
}
