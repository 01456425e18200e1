import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal } from './listen.js';

/**
 * A local stand-in for Meta's Graph API, speaking the Cloud API's wire format: `POST /<version>/<phone number id>/messages`
 * answers `{ messaging_product, contacts, messages: [{ id: 'wamid.…' }] }` or a Graph error `{ error: { message, type,
 * code, error_data, fbtrace_id } }`; media lookup `GET /<version>/<media id>` and the download it points to.
 * Tests script what the next sends answer (`script`) and read what arrived (`sends`).
 */
export interface FakeSend {
  path: string;
  authorization: string | undefined;
  body: any;
  at: number;
}

export type Scripted =
  | { ok: true }
  | { error: number; status?: number; title?: string }
  /** Takes the request, then answers only after this long (the client's timeout fires first). */
  | { hang: number }
  /** Takes the request and closes the connection without answering. */
  | { drop: true };

export async function startFakeGraphApi(options: { delayMs?: number } = {}) {
  const sends: FakeSend[] = [];
  const script: Scripted[] = [];
  const media = new Map<string, { bytes: Buffer; mimeType: string }>();
  let counter = 0;
  let port = 0;
  const read = (req: IncomingMessage) => new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await read(req);
    const file = /^\/files\/(.+)$/.exec(url.pathname);
    if (req.method === 'GET' && file) {
      const m = media.get(file[1]!);
      if (!m || req.headers.authorization !== 'Bearer EAAG-token') return json(res, 404, { error: { message: 'not found', code: 100 } });
      res.writeHead(200, { 'content-type': m.mimeType, 'content-length': m.bytes.length });
      return res.end(m.bytes);
    }
    const lookup = /^\/v\d+\.\d+\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && lookup) {
      const m = media.get(lookup[1]!);
      if (!m) return json(res, 404, { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33 } });
      return json(res, 200, { messaging_product: 'whatsapp', url: `http://127.0.0.1:${port}/files/${lookup[1]}`, mime_type: m.mimeType, sha256: 'x', file_size: m.bytes.length, id: lookup[1] });
    }
    if (req.method !== 'POST' || !/^\/v\d+\.\d+\/\d+\/messages$/.test(url.pathname)) return json(res, 404, { error: { message: `Unknown path ${url.pathname}`, code: 100 } });
    const parsed = JSON.parse(body.toString('utf8'));
    sends.push({ path: url.pathname, authorization: req.headers.authorization, body: parsed, at: Date.now() });
    // A read receipt: Meta answers { success: true }.
    if (parsed.status === 'read') return json(res, 200, { success: true });
    const next = script.shift() ?? { ok: true };
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    if ('hang' in next) {
      setTimeout(() => json(res, 200, { messaging_product: 'whatsapp', messages: [{ id: `wamid.late${++counter}` }] }), next.hang);
      return;
    }
    if ('drop' in next) {
      req.socket.destroy();
      return;
    }
    if ('error' in next) {
      return json(res, next.status ?? 400, {
        error: { message: `(#${next.error}) ${next.title ?? 'Error'}`, type: 'OAuthException', code: next.error, error_data: { messaging_product: 'whatsapp', details: next.title ?? 'Error' }, fbtrace_id: 'AbCdEf' },
      });
    }
    json(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: parsed.to, wa_id: parsed.to }], messages: [{ id: `wamid.fake${++counter}` }] });
  });
  const listening = await listenLocal(server);
  port = listening.port;
  return { url: listening.url, port, sends, script, media, close: listening.close };
}

export type FakeGraphApi = Awaited<ReturnType<typeof startFakeGraphApi>>;
