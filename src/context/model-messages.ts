import type { ModelMessage } from 'ai';
import type { Json, Message } from '../domain/entities.js';

type Part = { [key: string]: Json };
const isPart = (p: Json): p is Part => p !== null && typeof p === 'object' && !Array.isArray(p) && typeof (p as Part).type === 'string';
const partsOf = (m: Pick<Message, 'parts'>, type: string): Part[] => (m.parts ?? []).filter((p): p is Part => isPart(p) && p.type === type);
const imageUrl = (p: Part): string | undefined => {
  const url = typeof p.url === 'string' ? p.url : typeof p.image === 'string' ? p.image : undefined;
  return url && /^(https?:|data:)/.test(url) && URL.canParse(url) ? url : undefined;
};

/**
 * Stored messages (oldest first) → the AI SDK's `ModelMessage`s, ready for `generateText` / `streamText`:
 * - `system` messages are left out: they are instructions (see `store.context`, which puts them in `system`);
 * - a user message with image parts that carry an http(s) or data URL sends them as images beside its text;
 * - a `tool` message holding a step of tool calls (its `tool-call` and `tool-result` parts, as a chat turn stores
 *   them) replays as the assistant's calls followed by their results; one with only text reads as the
 *   assistant's note of what a tool said.
 */
export function toModelMessages(messages: ReadonlyArray<Pick<Message, 'role' | 'content' | 'parts'>>): ModelMessage[] {
  const out: ModelMessage[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'user') {
      const images = partsOf(m, 'image').map(imageUrl).filter((url): url is string => url !== undefined);
      out.push(images.length
        ? { role: 'user', content: [...(m.content ? [{ type: 'text' as const, text: m.content }] : []), ...images.map((url) => ({ type: 'image' as const, image: new URL(url) }))] }
        : { role: 'user', content: m.content });
      continue;
    }
    const calls = partsOf(m, 'tool-call');
    const results = partsOf(m, 'tool-result');
    if (calls.length || results.length) {
      const text = m.content || partsOf(m, 'text').map((p) => String(p.text ?? '')).join('');
      if (calls.length) {
        out.push({ role: 'assistant', content: [...(text ? [{ type: 'text' as const, text }] : []), ...calls.map((p) => ({ type: 'tool-call' as const, toolCallId: String(p.toolCallId), toolName: String(p.toolName), input: p.input ?? {} }))] });
      }
      if (results.length) {
        out.push({ role: 'tool', content: results.map((p) => ({ type: 'tool-result' as const, toolCallId: String(p.toolCallId), toolName: String(p.toolName), output: (p.output ?? { type: 'json', value: null }) as never })) });
      }
      continue;
    }
    out.push({ role: 'assistant', content: m.role === 'tool' ? `[tool] ${m.content}` : m.content });
  }
  return out;
}
