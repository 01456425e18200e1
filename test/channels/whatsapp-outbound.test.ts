import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelRuntime, type ChannelRuntime } from '../../src/channels/channel-runtime.js';
import { createOutboxSender, type OutboxSender } from '../../src/channels/outbox-sender.js';
import { ColloquyError, type Store } from '../../src/index.js';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api.js';
import { storeTargets } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

for (const target of storeTargets) {
  describe(`WhatsApp outbound on ${target.name}`, async () => {
    const opened = await target.open();
    describe.skipIf(!opened)('', () => {
      let graph: FakeGraphApi;
      let store: Store;
      let channels: ChannelRuntime;
      let sender: OutboxSender;
      let n = 0;
      beforeAll(async () => {
        graph = await startFakeGraphApi();
        store = opened!.store;
        channels = createChannelRuntime({ store, settingsCacheMs: 0 });
        sender = createOutboxSender({ channels, pollMs: 50, timeoutMs: 1_000, backoffMs: 20, leaseMs: 5_000 });
        sender.start();
      });
      afterEach(() => {
        graph.script.length = 0;
      });
      afterAll(async () => {
        await sender?.stop();
        await channels?.close();
        await graph?.close();
        await store?.close();
        await opened?.cleanup();
      });

      /** A channel on the fake Graph API and a conversation a customer opened a minute ago. */
      async function customer(config: Record<string, unknown> = {}) {
        const i = ++n;
        const tenant = store.tenant(`${target.name}-out-${i}-${Date.now()}`);
        const channel = await tenant.channels.create({
          kind: 'whatsapp', name: `line ${i}`, config: { phoneNumberId: '106540352242922', graphApiUrl: graph.url, ...config },
          secrets: { accessToken: 'EAAG-token', appSecret: 's', verifyToken: 'v' },
        });
        const address = `55119${String(i).padStart(8, '0')}`;
        const inbound = await tenant.ingest({ channelId: channel.id, from: { address, name: 'Ana' }, externalId: `wamid.in${i}`, content: 'oi', timestamp: Date.now() - 60_000 });
        return { tenant, channel, address, conversation: inbound.conversation };
      }
      const sendsTo = (address: string) => graph.sends.filter((s) => s.body.to === address);
      const settled = (tenant: Store, id: string) => waitFor(`message ${id} to leave pending`, async () => (await tenant.messages.get(id))!.status !== 'pending');

      it('sends an assistant reply once, stores the wamid as its externalId and moves it to sent', async () => {
        const { tenant, conversation, address } = await customer();
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'Com qual médico?' });
        expect(message).toMatchObject({ status: 'pending', externalId: null, sender: 'agent' });
        await settled(tenant, message.id);
        const sent = (await tenant.messages.get(message.id))!;
        expect(sent.status).toBe('sent');
        expect(sent.externalId).toMatch(/^wamid\.fake\d+$/);
        expect(sendsTo(address)).toHaveLength(1);
        expect(sendsTo(address)[0]).toMatchObject({
          path: '/v26.0/106540352242922/messages', authorization: 'Bearer EAAG-token',
          body: { messaging_product: 'whatsapp', recipient_type: 'individual', to: address, type: 'text', text: { body: 'Com qual médico?', preview_url: false } },
        });
        // Statuses by wamid move it forward only.
        await channels.ops.status(conversation.channelId!, sent.externalId!, 'read', Date.now(), null);
        await channels.ops.status(conversation.channelId!, sent.externalId!, 'delivered', Date.now(), null);
        expect((await tenant.messages.get(message.id))!.status).toBe('read');
      });

      it('applies statuses that arrived before the send answered', async () => {
        const { tenant, conversation, channel } = await customer();
        // The next id the fake will answer is predictable: the status for it is delivered first, and kept.
        const next = `wamid.fake${graph.sends.length + 1}`;
        expect(await channels.ops.status(channel.id, next, 'delivered', Date.now(), null)).toBe('pending');
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'rápido' });
        await waitFor('the kept status to apply', async () => (await tenant.messages.get(message.id))!.status === 'delivered');
        expect((await tenant.messages.get(message.id))!.externalId).toBe(next);
        const types = (await tenant.events.list({ conversationId: conversation.id })).data.filter((e) => e.type === 'message.status').map((e) => e.data.status);
        expect(types).toEqual(['sent', 'delivered']);
      });

      it('retries after a rate limit (130429) and sends once it passes', async () => {
        const { tenant, conversation, address } = await customer();
        graph.script.push({ error: 130429, title: 'Rate limit hit' });
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'depois do limite' });
        await settled(tenant, message.id);
        expect((await tenant.messages.get(message.id))!.status).toBe('sent');
        expect(sendsTo(address)).toHaveLength(2);
      });

      it('marks 131047 (outside the window) failed with its code, and never retries it', async () => {
        const { tenant, conversation, address } = await customer();
        graph.script.push({ error: 131047, title: 'Re-engagement message' });
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'tarde demais' });
        await settled(tenant, message.id);
        const failed = (await tenant.messages.get(message.id))!;
        expect(failed.status).toBe('failed');
        expect(failed.error).toMatchObject({ code: '131047', title: 'Re-engagement message' });
        await new Promise((r) => setTimeout(r, 200));
        expect(sendsTo(address)).toHaveLength(1);
      });

      it('does not resend after an ambiguous timeout: failed with reason ambiguous, one request', async () => {
        const { tenant, conversation, address } = await customer();
        graph.script.push({ hang: 3_000 });
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'chegou?' });
        await settled(tenant, message.id);
        expect((await tenant.messages.get(message.id))!).toMatchObject({ status: 'failed', error: { code: 'timeout', reason: 'ambiguous' } });
        await new Promise((r) => setTimeout(r, 200));
        expect(sendsTo(address)).toHaveLength(1);
      });

      it('resends an ambiguous failure only when the channel opts in (retryAmbiguous)', async () => {
        const { tenant, conversation, address } = await customer({ retryAmbiguous: true });
        graph.script.push({ error: 131000, status: 500, title: 'Something went wrong' });
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'de novo' });
        await settled(tenant, message.id);
        expect((await tenant.messages.get(message.id))!.status).toBe('sent');
        expect(sendsTo(address)).toHaveLength(2);
      });

      it('sends the messages of one conversation in seq order, one at a time', async () => {
        const { tenant, conversation, address } = await customer({ recipientBurst: 100 });
        const ids = [];
        for (let i = 1; i <= 8; i++) ids.push((await tenant.messages.append(conversation.id, { role: 'assistant', content: `parte ${i}` })).message.id);
        for (const id of ids) await settled(tenant, id);
        expect(sendsTo(address).map((s) => s.body.text.body)).toEqual(Array.from({ length: 8 }, (_, i) => `parte ${i + 1}`));
      });

      it('refuses a free-form message outside the 24-hour window (409 window_closed) but sends a template', async () => {
        const { tenant, channel, address } = await customer();
        const old = await tenant.ingest({ channelId: channel.id, from: { address: `${address}9` }, externalId: `wamid.old${n}`, content: 'oi', timestamp: Date.now() - 25 * 3_600_000 });
        const refused = await tenant.messages.append(old.conversation.id, { role: 'assistant', content: 'oi de novo' }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(ColloquyError);
        expect((refused as ColloquyError).code).toBe('window_closed');
        expect((await tenant.messages.list(old.conversation.id)).data).toHaveLength(1);
        const template = { type: 'template', name: 'appointment_reminder', language: 'pt_BR', components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }] };
        const { message } = await tenant.messages.append(old.conversation.id, { role: 'assistant', content: 'lembrete', parts: [template] });
        await settled(tenant, message.id);
        expect(sendsTo(`${address}9`)[0]!.body).toMatchObject({ type: 'template', template: { name: 'appointment_reminder', language: { code: 'pt_BR' } } });
      });

      it('refuses an externalId on an outbound message, and takes sender human', async () => {
        const { tenant, conversation } = await customer();
        const bad = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'x', externalId: 'mine' }).catch((e: unknown) => e);
        expect((bad as ColloquyError).code).toBe('invalid_argument');
        const human = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'Aqui é a Dra. Lima', sender: 'human' });
        expect(human.message.sender).toBe('human');
        const again = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'Aqui é a Dra. Lima', sender: 'human', idempotencyKey: 'h1' });
        expect((await tenant.messages.append(conversation.id, { role: 'assistant', content: 'Aqui é a Dra. Lima', sender: 'human', idempotencyKey: 'h1' })).duplicate).toBe(true);
        await settled(tenant, again.message.id);
        expect(graph.sends.filter((s) => s.body.text?.body === 'Aqui é a Dra. Lima')).toHaveLength(2);
      });

      it('keeps a reply queued while the channel lacks its token, and sends it once the token is set', async () => {
        const { tenant, conversation, channel, address } = await customer();
        await tenant.channels.update(channel.id, { secrets: { accessToken: null } });
        channels.changed(channel.id);
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'espera o token' });
        await new Promise((r) => setTimeout(r, 300));
        expect((await tenant.messages.get(message.id))!.status).toBe('pending');
        expect(sendsTo(address)).toHaveLength(0);
        await tenant.channels.update(channel.id, { secrets: { accessToken: 'EAAG-token' } });
        channels.changed(channel.id);
        await settled(tenant, message.id);
        expect((await tenant.messages.get(message.id))!.status).toBe('sent');
        expect(sendsTo(address)).toHaveLength(1);
      });

      it('marks the channel\'s token refused (190): the send fails and the channel shows a token error', async () => {
        const { tenant, conversation, channel } = await customer();
        graph.script.push({ error: 190, status: 401, title: 'Error validating access token: Session has expired' });
        const { message } = await tenant.messages.append(conversation.id, { role: 'assistant', content: 'x' });
        await settled(tenant, message.id);
        expect((await tenant.messages.get(message.id))!.error).toMatchObject({ code: '190' });
        await channels.traffic.flush();
        expect((await channels.ops.traffic(channel.id))!.tokenErrorAt).not.toBeNull();
      });
    });
  });
}
