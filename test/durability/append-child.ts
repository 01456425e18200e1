// Child process for the crash test: appends forever and prints "ack <seq> <id>" after each acknowledged append.
import { openStore } from '../../src/index.js';

const [url, schema, conversationId] = process.argv.slice(2) as [string, string, string];
const store = await openStore({ url, ...(schema !== '-' ? { schema } : {}) });
for (let i = 1; ; i++) {
  const { message } = await store.messages.append(conversationId, { role: 'user', content: `message ${i}`, idempotencyKey: `k${i}` });
  process.stdout.write(`ack ${message.seq} ${message.id}\n`);
}
