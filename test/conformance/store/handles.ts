import { describe, expect, it } from 'vitest';
import { expectError, type Harness } from './harness.js';

/** One Brazilian mobile number, as people, phones and providers write it. */
const SPELLINGS = [
  '5511987654321',
  '+5511987654321',
  '+55 11 98765-4321',
  '+55 (11) 98765-4321',
  '55-11-98765-4321',
  ' 55.11.98765.4321 ',
  '５５１１９８７６５４３２１', // full-width digits
  '55119876\u200B54321', // a zero-width space
  '\u202E5511987654321', // a right-to-left override
  '\u2066+55 11 987654321\u2069', // bidi isolates
];
/** As WhatsApp libraries and other scripts write it. */
const MORE = ['5511987654321@s.whatsapp.net', '5511987654321:3@s.whatsapp.net', '5511987654321@c.us', '٥٥١١٩٨٧٦٥٤٣٢١', '۵۵۱۱۹۸۷۶۵۴۳۲۱', '00 55 11 98765 4321'];

export function handlesCases({ fresh }: Harness): void {
  describe('handles are normalised', () => {
    it('one phone number in ten spellings is one contact, one conversation, on every entry point', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'line' });
      const results = [];
      for (const [i, address] of SPELLINGS.entries()) {
        results.push(await store.ingest({ channelId: channel.id, from: { address }, externalId: `w${i}`, content: `m${i}` }));
      }
      expect(new Set(results.map((r) => r.conversation.contactId)).size).toBe(1);
      expect(new Set(results.map((r) => r.conversation.id)).size).toBe(1);
      const contact = (await store.contacts.get(results[0]!.conversation.contactId!))!;
      expect(contact.handles).toEqual([{ channel: 'whatsapp', address: '5511987654321' }]);
      for (const address of [...SPELLINGS, ...MORE]) {
        expect((await store.contacts.findByHandle({ channel: 'whatsapp', address }))?.id, address).toBe(contact.id);
        expect((await store.contacts.upsert({ handle: { channel: 'whatsapp', address } })).id, address).toBe(contact.id);
      }
      expect((await store.contacts.list()).data).toHaveLength(1);
    });

    it('a WhatsApp address with letters and a Telegram one that is not a chat id are refused, naming the field', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'line' });
      const error = await expectError(store.ingest({ channelId: channel.id, from: { address: '+55 11 CALL-ME' }, externalId: 'x', content: 'x' }), 'invalid_argument');
      expect(error.details).toEqual({ errors: [{ path: '/from/address', message: 'is not an address of its kind' }] });
      await expectError(store.contacts.upsert({ handle: { channel: 'telegram', address: '@someone' } }), 'invalid_argument');
      await expectError(store.contacts.upsert({ handle: { channel: 'web', address: '\u200B \u202E' } }), 'invalid_argument');
      expect((await store.contacts.upsert({ handle: { channel: 'telegram', address: ' -100123 ' } })).handles).toEqual([{ channel: 'telegram', address: '-100123' }]);
      // Other kinds keep their text, folded and cleaned only.
      expect((await store.contacts.upsert({ handle: { channel: 'web', address: ' ｓｅｓｓｉｏｎ-1\u200B ' } })).handles).toEqual([{ channel: 'web', address: 'session-1' }]);
      expect((await store.contacts.list()).data).toHaveLength(2);
    });

    it('an import meets the contact already here under any spelling', async () => {
      const store = fresh();
      const here = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5511987654321' }, name: 'Ana' });
      const now = new Date(Date.now() + 1000).toISOString();
      const report = await store.importAll([{
        kind: 'contact', tenant: store.tenantId,
        data: { id: '018f2a4e-6c1b-7b9a-9d7e-0a1b2c3d4e5f', name: null, metadata: {}, createdAt: now, updatedAt: now, handles: [{ channel: 'whatsapp', address: '+55 (11) 98765-4321' }] },
      }]);
      expect(report).toMatchObject({ merged: 1, inserted: 0 });
      expect((await store.contacts.list()).data.map((c) => c.id)).toEqual([here.id]);
    });
  });
}
