import type { Conversation, Message } from './types.js';

// A page reads its state while the live stream runs, and both can hand it the same record in either order: it keeps
// the most advanced one, so that an older copy arriving late never undoes a newer one.

const STATUS_RANK: Record<string, number> = { pending: 0, sent: 1, failed: 2, delivered: 2, read: 3 };

/** The more advanced of two copies of a message: its status only moves forward; an edit adds to `edits`. */
export function newerMessage(a: Message, b: Message): Message {
  const rank = (m: Message) => (STATUS_RANK[m.status] ?? 0) * 1_000_000 + (m.edits?.length ?? 0);
  return rank(b) >= rank(a) ? b : a;
}

/** Messages merged by id, in seq order, each the most advanced copy. */
export function mergeMessages(now: Message[], incoming: Message[]): Message[] {
  const byId = new Map(now.map((m) => [m.id, m]));
  for (const m of incoming) {
    const known = byId.get(m.id);
    byId.set(m.id, known ? newerMessage(known, m) : m);
  }
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

/** Its version, messages and read marker only grow: the sum orders two copies of one conversation. */
const stamp = (c: Conversation) => c.version + c.lastSeq + c.readSeq;

/** The newer of two copies of a conversation (the later one when they are equal). */
export function newerConversation<C extends Conversation>(a: C | null | undefined, b: C): C {
  return a && stamp(a) > stamp(b) ? a : b;
}
