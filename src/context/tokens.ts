import type { Json, MessageRole } from '../domain/entities.js';

/**
 * Token counts with `gpt-tokenizer` (o200k_base: GPT-4o and later; measured 3–5× faster than js-tiktoken with the
 * same counts). Its tables take a few hundred milliseconds to load: they load once, on the first count (the first
 * append of a process waits for them; `colloquy serve` loads them while it starts).
 */
type Count = (text: string) => number;
let loading: Promise<Count> | undefined;
let count: Count | undefined;

export function tokenizer(): Promise<Count> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => {
    count = (text) => (text === '' ? 0 : m.countTokens(text));
    return count;
  });
  return loading;
}

/** What every message costs beyond its text in a chat request (role and separators), as OpenAI counts it. */
export const MESSAGE_OVERHEAD = 4;

/** The parts the model reads besides `content`: tool calls and results (other parts reach it as their text). */
const modelParts = (parts: Json[] | null): string => {
  if (!parts) return '';
  const read = parts.filter((p) => p !== null && typeof p === 'object' && !Array.isArray(p) && typeof p.type === 'string' && p.type.startsWith('tool-'));
  return read.length ? JSON.stringify(read) : '';
};

type Countable = { role: MessageRole; content: string; parts: Json[] | null };
const sizeOf = (counter: Count, m: Countable) => MESSAGE_OVERHEAD + counter(m.content) + (m.role === 'tool' || m.role === 'assistant' ? counter(modelParts(m.parts)) : 0);

/** A message's size in tokens as the model will read it. */
export async function tokensOf(m: Countable): Promise<number> {
  return sizeOf(count ?? (await tokenizer()), m);
}

/**
 * A message's size in tokens, counted when first read: an append reads it only when it writes the row, so that a
 * duplicate (found before anything is written) costs no count. Resolves once the tokenizer is loaded.
 */
export async function lazyTokens(m: Countable): Promise<() => number> {
  const counter = count ?? (await tokenizer());
  let tokens: number | undefined;
  return () => (tokens ??= sizeOf(counter, m));
}

/** Tokens of a text (instructions, memory, a summary). */
export async function tokensOfText(text: string): Promise<number> {
  return (count ?? (await tokenizer()))(text);
}
