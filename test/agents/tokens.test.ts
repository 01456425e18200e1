import { describe, expect, it } from 'vitest';
import { calibrate, tokenFactor } from '../../src/context/calibration.js';
import { openStore } from '../../src/index.js';
import { tokensOf } from '../../src/context/tokens.js';

describe('token counts', () => {
  it('are o200k_base counts of what the model reads, with a safety factor for Anthropic models that learns from their reports', async () => {
    expect(await tokensOf({ role: 'user', content: 'Hello, world!', parts: null })).toBe(4 + 4);
    // Tool calls count; other parts reach the model as the text.
    const call = [{ type: 'tool-call', toolCallId: 'c1', toolName: 'update_state', input: { state: 'booking' } }];
    expect(await tokensOf({ role: 'tool', content: '', parts: call })).toBeGreaterThan(10);
    expect(await tokensOf({ role: 'user', content: '', parts: [{ type: 'image', url: 'https://example.com/x.png' }] })).toBe(4);
    expect(tokenFactor('openai:gpt-4o-mini')).toBe(1);
    expect(tokenFactor('anthropic:claude-sonnet-4-5')).toBe(1.25);
    // Anthropic counted 1.5× what was estimated: the factor moves toward it (with headroom), within 1–2.
    for (let i = 0; i < 20; i++) calibrate('anthropic:claude-sonnet-4-5', 1000, 1500);
    expect(tokenFactor('anthropic:claude-sonnet-4-5')).toBeCloseTo(1.575, 2);
    for (let i = 0; i < 20; i++) calibrate('anthropic:claude-sonnet-4-5', 1000, 5000);
    expect(tokenFactor('anthropic:claude-sonnet-4-5')).toBeLessThanOrEqual(2);
  });

  it('scale an Anthropic agent’s context window by its factor', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    try {
      const plain = await store.agents.create({ name: 'gpt', model: 'openai:gpt-4o-mini' });
      const claude = await store.agents.create({ name: 'claude', model: 'anthropic:claude-haiku-4-5' });
      const conversation = await store.conversations.create();
      for (let i = 0; i < 10; i++) await store.messages.append(conversation.id, { role: 'user', content: `message ${i} with some words in it` });
      const a = await store.context(conversation.id, { maxTokens: 100_000, agentId: plain.id });
      const b = await store.context(conversation.id, { maxTokens: 100_000, agentId: claude.id });
      expect(b.tokens.messages).toBeGreaterThanOrEqual(Math.floor(a.tokens.messages * 1.25));
    } finally {
      await store.close();
    }
  });
});
