import { generateText } from 'ai';
import { tokensOfText } from '../context/tokens.js';
import type { Agent, Conversation, Message } from '../domain/entities.js';
import { agentOps } from '../store/agent-ops.js';
import type { Store } from '../store/store.js';
import { paramsOf } from './agent-params.js';
import type { Providers } from './providers.js';

/** At most this many messages are folded into the summary by one turn (a long imported history catches up over turns). */
const FOLD_MAX = 200;

const line = (m: Message) => `${m.role === 'tool' ? 'tool' : m.role}: ${m.content}`;

/**
 * With `params.summarize`: when the messages after the stored summary no longer fit the context, the oldest of them
 * that do not fit are folded into the summary by the summary model (`params.summaryModel`, default the agent's),
 * incrementally (the previous summary and the new messages), and the summary is stored with the seq it covers.
 * Returns the summary call's usage, which the turn records with its own; null when nothing was folded.
 */
export async function maybeSummarize(
  p: { store: Store; agent: Agent; conversation: Conversation },
  providers: Providers,
  maxTokens: number,
  signal: AbortSignal,
): Promise<{ inputTokens: number; outputTokens: number } | null> {
  const window = await p.store.context(p.conversation.id, { maxTokens, agentId: p.agent.id });
  if (!window.truncated || window.fromSeq === null) return null;
  const after = window.summaryToSeq ?? 0;
  const page = await p.store.messages.list(p.conversation.id, { after, before: window.fromSeq, limit: FOLD_MAX });
  if (!page.data.length) return null;
  const params = paramsOf(p.agent);
  const modelName = params.summaryModel ?? p.agent.model;
  const model = await providers.languageModel(modelName);
  const result = await generateText({
    model,
    system: 'You keep a running summary of a conversation for an assistant that can no longer see its older messages. Keep every fact, name, number, date, decision and open question; drop pleasantries. Answer with the summary only, in the language of the conversation.',
    prompt: `${window.summary ? `The summary so far:\n${window.summary}\n\n` : ''}Messages to fold into it:\n${page.data.map(line).join('\n')}`,
    maxRetries: 1,
    abortSignal: signal,
  });
  const content = result.text.trim();
  if (content) {
    await agentOps(p.store).putSummary(p.conversation.id, { content, toSeq: page.data.at(-1)!.seq, tokens: await tokensOfText(content), model: modelName, updatedAt: Date.now() });
  }
  return { inputTokens: result.usage.inputTokens ?? 0, outputTokens: result.usage.outputTokens ?? 0 };
}
