import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createChannelRuntime } from '../../src/channels/channel-runtime.js';
import { createOutboxSender } from '../../src/channels/outbox-sender.js';
import { channelOps } from '../../src/store/channel-ops.js';
import { openStore } from '../../src/index.js';
import { startFakeGraphApi } from '../fakes/fake-graph-api.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'a-secret-key-of-at-least-32-characters!';

describe('an interrupted send', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-interrupted-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is never sent again, even when judging it fails at first (it may have reached the customer)', async () => {
    const url = `sqlite:${join(dir, 'outbox.db')}`;
    const graph = await startFakeGraphApi();
    const keyed = await openStore({ url, secretKey: KEY });
    try {
      const channel = await keyed.channels.create({ kind: 'whatsapp', name: 'c', config: { phoneNumberId: '1', graphApiUrl: graph.url }, secrets: { accessToken: 't', appSecret: 'a', verifyToken: 'v' } });
      const { conversation } = await keyed.ingest({ channelId: channel.id, from: { address: '5511944443333' }, externalId: 'wamid.in', content: 'oi', timestamp: Date.now() - 60_000 });
      const { message } = await keyed.messages.append(conversation.id, { role: 'assistant', content: 'talvez já chegou' });
      // A sender claims it and dies mid-request: its lease runs out.
      const [claimed] = await channelOps(keyed).claim('dead-sender', 1, 10, false);
      expect(claimed!.messageId).toBe(message.id);
      await new Promise((r) => setTimeout(r, 20));
      // An instance without the secret key takes it over and cannot open the channel's secrets: it must leave it be.
      const keyless = await openStore({ url });
      const blind = createChannelRuntime({ store: keyless, settingsCacheMs: 0 });
      const blindSender = createOutboxSender({ channels: blind, pollMs: 20, leaseMs: 2_100, timeoutMs: 500 });
      blindSender.start();
      await new Promise((r) => setTimeout(r, 300));
      await blindSender.stop();
      await blind.close();
      await keyless.close();
      expect((await keyed.messages.get(message.id))!.status).toBe('pending');
      // Then an instance that can judge it: failed as ambiguous, and the provider never got a second copy.
      const channels = createChannelRuntime({ store: keyed, settingsCacheMs: 0 });
      const sender = createOutboxSender({ channels, pollMs: 20, leaseMs: 2_100, timeoutMs: 500 });
      sender.start();
      try {
        await waitFor('the interrupted send to be judged', async () => (await keyed.messages.get(message.id))!.status !== 'pending');
      } finally {
        await sender.stop();
        await channels.close();
      }
      expect((await keyed.messages.get(message.id))!).toMatchObject({ status: 'failed', error: { code: 'interrupted', reason: 'ambiguous' } });
      expect(graph.sends).toHaveLength(0);
    } finally {
      await keyed.close();
      await graph.close();
    }
  });
});
