import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { pipeUIMessageStreamToResponse } from 'ai';
import Type, { type Static } from 'typebox';
import type { ChatRequest, ChatTurns } from '../../agents/chat-turn.js';
import { ConversationSchema, IdSchema, JsonSchema, MessageSchema, Nullable, UsageSchema } from '../../domain/entities.js';
import { ColloquyError } from '../../domain/errors.js';
import { isId } from '../../domain/ids.js';
import { answer, example, failure } from '../openapi.js';
import { IdempotencyHeaders, IdParams } from './params.js';

const Content = Type.String({ maxLength: 1_000_000 });
const Key = Type.String({ minLength: 1, maxLength: 200 });

/** Either Colloquy's own body or the one `useChat` (`DefaultChatTransport`) sends: one object, told apart by `messages`. */
const ChatBody = Type.Object({
  conversationId: Type.Optional({ ...IdSchema, description: 'The conversation to continue; without it, one is created with the agent.' }),
  message: Type.Optional(Type.Object({
    id: Type.Optional({ ...Key, description: 'The idempotency key of the user message (else the Idempotency-Key header): a retry gets the stored answer, and no second model call.' }),
    content: Content,
    parts: Type.Optional(Type.Array(JsonSchema, { maxItems: 100 })),
  }, { additionalProperties: false })),
  stream: Type.Optional(Type.Boolean({ description: 'Answer with the AI SDK UI message stream (also with `Accept: text/event-stream`, and always for a `useChat` body).' })),
  id: Type.Optional({ ...Key, description: '`useChat`: the chat id: a conversation id when it is a UUID, else the client\'s own id, kept on the conversation (unique per agent).' }),
  messages: Type.Optional(Type.Array(Type.Object({
    id: Type.String({ minLength: 1, maxLength: 200 }),
    role: Type.String(),
    parts: Type.Optional(Type.Array(Type.Unsafe<{ type: string; text?: string }>({ type: 'object', additionalProperties: true }), { maxItems: 1000 })),
  }, { additionalProperties: true }), { maxItems: 100_000, description: "`useChat`: the chat's messages; the last user message is the new one." })),
  trigger: Type.Optional(Type.String({ description: '`useChat`: `submit-message`; `regenerate-message` answers with the stored answer (an answer is never replaced).' })),
  messageId: Type.Optional(Type.String()),
}, { additionalProperties: true, description: '`{ conversationId?, message: { id?, content, parts? }, stream? }`, or the body of `useChat` (`{ id, messages, trigger }`).' });

const ChatAnswerSchema = Type.Object({
  conversation: ConversationSchema,
  userMessage: MessageSchema,
  assistantMessage: MessageSchema,
  usage: Nullable(UsageSchema),
  duplicate: Type.Boolean({ description: 'The message was answered before: the stored answer, no model call.' }),
}, { title: 'ChatAnswer' });

type Body = Static<typeof ChatBody>;

/** The request as the turn sees it, from either body. */
function chatRequest(body: Body, idempotencyKey: string | undefined): { request: ChatRequest; useChat: boolean } {
  if (body.messages !== undefined) {
    const last = [...body.messages].reverse().find((m) => m.role === 'user');
    if (!last) throw new ColloquyError('invalid_argument', 'A useChat body needs a user message among "messages": the last one is the new message.', { errors: [{ path: '/messages', message: 'has no user message' }] });
    const content = (last.parts ?? []).filter((p) => p.type === 'text' && typeof p.text === 'string').map((p) => p.text).join('');
    const chat = body.id === undefined ? {} : isId(body.id) ? { conversationId: body.id } : { chatId: body.id };
    return { request: { ...chat, message: { id: last.id, content }, idempotencyKey }, useChat: true };
  }
  if (!body.message) {
    throw new ColloquyError('invalid_argument', 'Give "message": { content } (or the body useChat sends: { id, messages }).', { errors: [{ path: '/message', message: 'is required' }] });
  }
  return { request: { conversationId: body.conversationId, message: body.message, idempotencyKey }, useChat: false };
}

/** `POST /v1/agents/:id/chat`: one chat turn, as JSON or as the AI SDK UI message stream. */
export const agentChatRoutes: FastifyPluginAsyncTypebox<{ turns: ChatTurns }> = async (app, { turns }) => {
  app.post('/agents/:id/chat', {
    schema: {
      operationId: 'chat', summary: 'Chat with an agent',
      description: "Stores the user message (idempotently: its `id` or the Idempotency-Key header), calls the agent's model with the conversation's context window and stores the answer with its usage. A retry of an answered message returns the stored answer (`duplicate: true`) without calling the model; a retry while the turn runs waits for it. Turns of one conversation run one at a time. With `stream: true`, `Accept: text/event-stream` or a `useChat` body, the answer is the AI SDK UI message stream (`x-vercel-ai-ui-message-stream: v1`): `useChat` with `DefaultChatTransport` works against it unchanged; the `start` part's metadata names the conversation, the `finish` part's adds the stored answer and usage. The answer is stored even when the client disconnects mid-stream.",
      params: IdParams,
      headers: IdempotencyHeaders,
      body: example(ChatBody, { message: { id: 'msg-1', content: 'Can I book Dr. Silva on Tuesday?' } }),
      response: {
        200: answer(ChatAnswerSchema, 'The stored answer (or the UI message stream)'),
        422: failure('provider_rejected', 'idempotency_key_reused'),
        429: failure('budget_exceeded', 'rate_limited'),
        502: failure('upstream_error'),
        503: failure('provider_not_configured', 'unavailable'),
        504: failure('upstream_timeout'),
      },
    },
  }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const { request: chat, useChat } = chatRequest(request.body, typeof key === 'string' ? key : undefined);
    const streamed = useChat || request.body.stream === true || (request.body.stream === undefined && /\btext\/event-stream\b/.test(request.headers.accept ?? ''));
    if (!streamed) return turns.chat(request.store, request.params.id, chat);
    // Everything that can fail before the model is called answers as JSON with its status; after, in the stream.
    const prepared = await turns.prepare(request.store, request.params.id, chat);
    const headers = Object.fromEntries(Object.entries(reply.getHeaders()).map(([k, v]) => [k, String(v)]));
    reply.hijack();
    await pipeUIMessageStreamToResponse({ response: reply.raw, stream: turns.stream(prepared), headers });
  });
};
