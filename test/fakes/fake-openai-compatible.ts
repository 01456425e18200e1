import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer: text, tool calls, or a provider error; streamed in chunks `chunkDelayMs` apart when asked to stream. */
export type FakeReply = string | {
  text?: string;
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
  /** Answer with this HTTP status and error message instead. */
  status?: number;
  error?: string;
  /** Wait this long before each streamed chunk (or before a JSON answer). */
  chunkDelayMs?: number;
  usage?: { prompt: number; completion: number };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A local OpenAI-compatible server (the wire format of `POST /v1/chat/completions`, as Ollama, vLLM and others speak
 * it, JSON and `stream: true` with a final usage chunk): answers each request with the next scripted reply (default
 * "ok"), records what it was sent, and counts the streams a client abandoned.
 */
export async function startFakeOpenAICompatible() {
  const requests: Array<{ authorization: string | undefined; body: any }> = [];
  const replies: FakeReply[] = [];
  let finished = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: `no route ${req.url}`, type: 'invalid_request_error' } }));
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      requests.push({ authorization: req.headers.authorization, body });
      const scripted = replies.shift() ?? 'ok';
      const reply = typeof scripted === 'string' ? { text: scripted } : scripted;
      void answer(res, body, reply, requests.length).then(() => { finished++; }, () => {});
    });
  });

  async function answer(res: ServerResponse, body: any, reply: Exclude<FakeReply, string>, n: number) {
    if (reply.status) {
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: reply.error ?? 'failed', type: reply.status < 500 ? 'invalid_request_error' : 'server_error' } }));
      return;
    }
    const usage = { prompt_tokens: reply.usage?.prompt ?? 12, completion_tokens: reply.usage?.completion ?? 3, total_tokens: (reply.usage?.prompt ?? 12) + (reply.usage?.completion ?? 3) };
    const base = { id: `chatcmpl-${n}`, created: Math.floor(Date.now() / 1000), model: body.model };
    const toolCalls = (reply.toolCalls ?? []).map((call, i) => ({ id: `call_${n}_${i}`, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } }));
    const finishReason = toolCalls.length ? 'tool_calls' : 'stop';
    if (!body.stream) {
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        ...base, object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: reply.text ?? null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }, finish_reason: finishReason }],
        usage,
      }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = async (data: unknown) => {
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      if (res.destroyed) throw new Error('client left');
      res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    const chunk = (delta: unknown, finish: string | null = null) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });
    await send(chunk({ role: 'assistant', content: '' }));
    // The text in pieces of a few characters, as a model streams it.
    for (const piece of (reply.text ?? '').match(/.{1,4}/gs) ?? []) await send(chunk({ content: piece }));
    for (const [index, call] of toolCalls.entries()) await send(chunk({ tool_calls: [{ index, ...call }] }));
    await send(chunk({}, finishReason));
    await send({ ...base, object: 'chat.completion.chunk', choices: [], usage });
    res.end('data: [DONE]\n\n');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    replies,
    /** Answers written to their end. */
    finished: () => finished,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
