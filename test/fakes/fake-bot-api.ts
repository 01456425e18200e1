import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal } from './listen.js';

/**
 * A local stand-in for Telegram's Bot API, speaking its wire format: `POST /bot<token>/<method>` answers
 * `{ ok: true, result }` or `{ ok: false, error_code, description, parameters? }`. `getUpdates` long-polls a queue of
 * updates (honouring `offset`: updates below it are confirmed and dropped, as Telegram does); `setWebhook` /
 * `deleteWebhook` are recorded, and getUpdates answers 409 while a webhook is set, as Telegram does.
 */
export async function startFakeBotApi(token: string) {
  const calls: Array<{ method: string; body: any }> = [];
  const script: Array<{ error_code: number; description: string; retry_after?: number }> = [];
  let updates: any[] = [];
  let webhook: { url: string; secret_token?: string } | undefined;
  let messageId = 1000;
  const waiting = new Set<() => void>();
  const files = new Map<string, Buffer>();
  const read = (req: IncomingMessage) => new Promise<any>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}));
  });
  const send = (res: ServerResponse, status: number, body: unknown) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const file = new RegExp(`^/file/bot${token.replace(':', ':')}/(.+)$`).exec(req.url ?? '');
    if (file) {
      const bytes = files.get(file[1]!);
      if (!bytes) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bytes.length });
      return res.end(bytes);
    }
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    const body = await read(req);
    if (!match || match[1] !== token) return send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = match[2]!;
    calls.push({ method, body });
    if (method === 'getUpdates') {
      if (webhook) return send(res, 409, { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
      const offset = Number(body.offset ?? 0);
      if (offset) updates = updates.filter((u) => u.update_id >= offset);
      const answer = () => send(res, 200, { ok: true, result: updates.slice(0, Number(body.limit ?? 100)) });
      if (updates.length || !body.timeout) return answer();
      const wake = () => {
        waiting.delete(wake);
        clearTimeout(timer);
        answer();
      };
      const timer = setTimeout(wake, Number(body.timeout) * 1000);
      waiting.add(wake);
      return;
    }
    if (method === 'setWebhook') {
      webhook = { url: body.url, secret_token: body.secret_token };
      return send(res, 200, { ok: true, result: true, description: 'Webhook was set' });
    }
    if (method === 'deleteWebhook') {
      webhook = undefined;
      return send(res, 200, { ok: true, result: true, description: 'Webhook was deleted' });
    }
    if (method === 'getFile') return send(res, 200, { ok: true, result: { file_id: body.file_id, file_unique_id: 'u', file_size: files.get(`photos/${body.file_id}.jpg`)?.length ?? 0, file_path: `photos/${body.file_id}.jpg` } });
    if (['sendMessage', 'sendPhoto', 'sendDocument'].includes(method)) {
      const next = script.shift();
      if (next) return send(res, next.error_code, { ok: false, error_code: next.error_code, description: next.description, ...(next.retry_after ? { parameters: { retry_after: next.retry_after } } : {}) });
      return send(res, 200, { ok: true, result: { message_id: ++messageId, chat: { id: Number(body.chat_id), type: 'private' }, date: Math.floor(Date.now() / 1000), text: body.text } });
    }
    send(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
  });
  const listening = await listenLocal(server);
  return {
    url: listening.url,
    calls,
    script,
    files,
    webhook: () => webhook,
    /** Queues updates for getUpdates (and wakes a waiting long poll). */
    push(...more: any[]) {
      updates.push(...more);
      for (const wake of [...waiting]) wake();
    },
    pending: () => updates.length,
    async close() {
      for (const wake of [...waiting]) wake();
      await listening.close();
    },
  };
}

export type FakeBotApi = Awaited<ReturnType<typeof startFakeBotApi>>;
