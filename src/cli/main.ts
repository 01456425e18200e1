#!/usr/bin/env node
// Placeholder until the server issue lands: `colloquy serve` and the other commands come with it.
const command = process.argv[2];
process.stderr.write(
  `colloquy${command ? ` ${command}` : ''}: the server and CLI are not built yet (see the open "Server and CLI" issue).\n` +
    "The embedded library works today: import { openStore } from 'colloquy'.\n",
);
process.exit(command === '--help' || command === undefined ? 0 : 1);
