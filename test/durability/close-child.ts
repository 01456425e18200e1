// Opens a store, writes, closes, and relies on nothing else to keep the process alive.
import { openStore } from '../../src/index.js';

const store = await openStore({ url: `sqlite:${process.argv[2]}` });
await store.conversations.create();
await store.close();
process.stdout.write('closed\n');
