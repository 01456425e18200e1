/**
 * A clinic's booking bot as a state machine whose memory is Colloquy's: every run is a new process (as after a
 * crash or a deploy) and picks the conversation up where the last one left it.
 *
 *   npx tsx examples/booking-bot.ts <message id> <text>      e.g.  npx tsx examples/booking-bot.ts m1 "hi"
 *
 * The message id stands for a WhatsApp wamid: delivering the same one again (a webhook retry) changes nothing.
 * BOT_DB picks the database (default sqlite:./data/booking-bot.db).
 */
import { openStore, type ConversationState } from 'colloquy';

const [externalId, text] = process.argv.slice(2);
if (!externalId || text === undefined) {
  console.error('usage: booking-bot <message id> <text>');
  process.exit(2);
}

const DOCTORS = ['Silva', 'Souza'];

/** One step of the dialogue: what the bot says and where it goes next, from where it is and what it heard. */
function step(state: ConversationState, heard: string): { reply: string; next: string; data: Record<string, string> } {
  const data = { ...state.data } as Record<string, string>; // this bot keeps only strings in it
  switch (state.state) {
    case null:
    case 'booked':
      if (state.state === 'booked' && heard.trim().toLowerCase() !== 'new') {
        return { reply: `You are booked with Dr. ${data.doctor}, ${data.when}. Send "new" to book another.`, next: 'booked', data };
      }
      return { reply: 'Hello! I can book you an appointment. What is your name?', next: 'name', data: {} };
    case 'name':
      return { reply: `Thanks, ${heard.trim()}. Which doctor: ${DOCTORS.join(' or ')}?`, next: 'doctor', data: { ...data, patient: heard.trim() } };
    case 'doctor': {
      const doctor = DOCTORS.find((d) => heard.toLowerCase().includes(d.toLowerCase()));
      if (!doctor) return { reply: `Sorry, we have Dr. ${DOCTORS.join(' and Dr. ')}. Which one?`, next: 'doctor', data };
      return { reply: `Dr. ${doctor}. When would you like to come?`, next: 'when', data: { ...data, doctor } };
    }
    default: // 'when'
      return { reply: `Booked: ${data.patient} with Dr. ${data.doctor}, ${heard.trim()}. See you then!`, next: 'booked', data: { ...data, when: heard.trim() } };
  }
}

const store = await openStore({ url: process.env.BOT_DB ?? 'sqlite:./data/booking-bot.db' });
try {
  const { channel } = await store.channels.ensure({ kind: 'whatsapp', name: 'Clinic' });
  const inbound = await store.ingest({ channelId: channel.id, from: { address: '5511999999999' }, externalId, content: text });
  if (inbound.duplicate) {
    console.log('(already handled: a retry of a message the bot has seen)');
  } else {
    const state = await store.state.get(inbound.conversation.id);
    const { reply, next, data } = step(state, text);
    // Compare-and-set: had another process moved this conversation on meanwhile, this throws and writes nothing.
    await store.state.set(inbound.conversation.id, { state: next, data, expectedVersion: state.version });
    await store.messages.append(inbound.conversation.id, { role: 'assistant', content: reply, idempotencyKey: `reply:${inbound.message.id}` });
    console.log(reply);
  }
} finally {
  await store.close();
}
