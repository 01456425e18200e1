import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { agentOps } from '../../src/store/agent-ops.js';
import { startFakeGraphApi } from '../fakes/fake-graph-api.js';
import { startFakeOpenAICompatible } from '../fakes/fake-openai-compatible.js';
import { startServer } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const APP_SECRET = 'app-secret';

describe('an automatic reply across a SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-auto-reply-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('killed while the model answers: after a restart the message gets exactly one reply', async () => {
    const fake = await startFakeOpenAICompatible();
    const graph = await startFakeGraphApi();
    const url = `sqlite:${join(dir, 'auto-reply.db')}`;
    const store = await openStore({ url });
    const env = { COLLOQUY_PROVIDER_FAKE: fake.url };
    const args = ['--agent-lease', '1500'];
    try {
      const agent = await store.agents.create({ name: 'clinic', model: 'fake:clinic' });
      const channel = await store.channels.create({
        kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '106540352242922', graphApiUrl: graph.url, agentId: agent.id, replyDebounceMs: 100 },
        secrets: { accessToken: 'EAAG-token', appSecret: APP_SECRET, verifyToken: 'v' },
      });
      // The first answer streams slowly: the process dies in the middle of it.
      fake.replies.push({ text: 'An answer that never finishes, because its process is killed.', chunkDelayMs: 400 }, 'The one reply.');
      const first = await startServer(url, args, env);
      const body = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [{ id: '1', changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
          contacts: [{ profile: { name: 'Ana' }, wa_id: '5511900000009' }],
          messages: [{ from: '5511900000009', id: 'wamid.crash1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Can I come on Tuesday?' } }],
        } }] }],
      });
      const delivered = await fetch(`${first.url}/webhooks/whatsapp/${channel.id}`, {
        method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` },
      });
      expect(delivered.status).toBe(200);
      await waitFor('the model call to start', () => fake.requests.length >= 1);
      first.proc.kill('SIGKILL');
      await new Promise((resolve) => first.proc.once('exit', resolve));
      expect(graph.sends).toHaveLength(0);

      const second = await startServer(url, args, env);
      try {
        const conversation = (await store.conversations.list({ channelId: channel.id })).data[0]!;
        const inbound = (await store.messages.list(conversation.id)).data[0]!;
        await waitFor('the turn answered', async () => (await agentOps(store).turn(inbound.id))?.state === 'done', 60_000);
        await waitFor('the reply sent', async () => (await store.messages.list(conversation.id)).data.at(-1)?.status === 'sent', 60_000);
        const messages = (await store.messages.list(conversation.id)).data;
        expect(messages.map((m) => [m.role, m.content])).toEqual([['user', 'Can I come on Tuesday?'], ['assistant', 'The one reply.']]);
        expect(graph.sends.filter((s) => s.body.type === 'text').map((s) => s.body.text.body)).toEqual(['The one reply.']);
        expect(fake.requests).toHaveLength(2);
      } finally {
        await second.stop();
      }
    } finally {
      await store.close();
      await Promise.all([fake.close(), graph.close()]);
    }
  }, 120_000);
});
