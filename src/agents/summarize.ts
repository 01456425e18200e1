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
 * The summary call's usage is recorded on its own, with its model's price (whatever the turn then does).
 */
export async function maybeSummarize(
  p: { store: Store; agent: Agent; conversation: Conversation },
  providers: Providers,
  maxTokens: number,
  signal: AbortSignal,
): Promise<void> {
  const window = await p.store.context(p.conversation.id, { maxTokens, agentId: p.agent.id });
  if (!window.truncated || window.fromSeq === null) return;
  const after = window.summaryToSeq ?? 0;
  const page = await p.store.messages.list(p.conversation.id, { after, before: window.fromSeq, limit: FOLD_MAX });
  if (!page.data.length) return;
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
  const ops = agentOps(p.store);
  await ops.recordUsage(p.conversation.id, {
    model: modelName, agentId: p.agent.id, inputTokens: result.usage.inputTokens ?? 0, outputTokens: result.usage.outputTokens ?? 0,
    cachedInputTokens: result.usage.inputTokenDetails?.cacheReadTokens ?? 0,
  }, params.prices);
  const content = result.text.trim();
  if (content) {
    await ops.putSummary(p.conversation.id, { content, toSeq: page.data.at(-1)!.seq, tokens: await tokensOfText(content), model: modelName, updatedAt: Date.now() });
  }
}
