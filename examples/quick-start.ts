import { openStore } from 'colloquy';

const store = await openStore({ url: 'sqlite:./data/colloquy.db' }); // or 'postgres://user@host/db'
const { channel } = await store.channels.ensure({ kind: 'whatsapp', name: 'Clinic' }); // found again on the next run

// A webhook delivered a message: contact → conversation (continuity rules) → stored once.
const { conversation, duplicate } = await store.ingest({
  channelId: channel.id,
  from: { address: '5511999999999', name: 'Ana' },
  externalId: 'wamid.HBgM1', // a retry of the same wamid is stored once and answers duplicate: true
  content: 'Quero marcar uma consulta',
});

if (!duplicate) {
  // The bot answers and remembers where it is.
  await store.messages.append(conversation.id, { role: 'assistant', content: 'Com qual médico?' });
  const state = await store.state.get(conversation.id);
  await store.state.set(conversation.id, {
    state: 'choosing_doctor',
    data: { patient: 'Ana' },
    expectedVersion: state.version, // a stale version throws version_mismatch; nothing is written
  });
}

const newest = await store.messages.list(conversation.id, { order: 'desc', limit: 20 });
for (const m of newest.data.reverse()) console.log(`${m.seq} ${m.role}: ${m.content}`);
console.log(`state: ${(await store.state.get(conversation.id)).state}`);
await store.close();
