import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { listenLocal } from './listen.js';

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  payload: { type: string; timestamp: string; data: any };
  /** The status this receiver answered. */
  status: number;
  /** When the request arrived (epoch ms). */
  at: number;
}

/**
 * A webhook receiver as a customer would run one: records every request with its Standard Webhooks headers, and
 * answers `answer(request, n)` (default 200; n counts requests from 1). `accepted()` is what it took (2xx), in
 * the order it took it; `verify(secret)` checks every accepted request with the standardwebhooks verifier.
 */
export async function startWebhookReceiver(options: { answer?: (hook: Omit<ReceivedWebhook, 'status' | 'at'>, n: number) => number | Promise<number>; delayMs?: number } = {}) {
  const requests: ReceivedWebhook[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      const at = Date.now();
      const hook = {
        id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']),
        body, payload: JSON.parse(body),
      };
      const status = options.answer ? await options.answer(hook, ++n) : 200;
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      requests.push({ ...hook, status, at });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  });
  const listening = await listenLocal(server);
  return {
    ...listening,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    /** Throws if a request it accepted does not verify with `secret`. */
    verify(secret: string, which: ReceivedWebhook[] = requests.filter((r) => r.status < 300)): void {
      const hook = new Webhook(secret);
      for (const r of which) hook.verify(r.body, { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature });
    },
  };
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
