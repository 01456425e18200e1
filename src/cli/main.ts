#!/usr/bin/env node
import { Command, Option } from 'commander';
import { serve } from './serve.js';
import { migrate } from '../store/open-store.js';

const DEFAULT_DB = 'sqlite:./data/colloquy.db';
const db = () => new Option('--db <url>', 'database: sqlite:<path>, sqlite::memory: or postgres://…').env('COLLOQUY_DB_URL').default(DEFAULT_DB);

const program = new Command()
  .name('colloquy')
  .description('Conversation store and chat gateway for chatbots and AI agents.')
  .showHelpAfterError();

program
  .command('serve')
  .description('Run the HTTP API (REST under /v1, health endpoints) on the given database.')
  .addOption(db())
  .addOption(new Option('--port <port>', 'TCP port').env('PORT').default('8080'))
  .addOption(new Option('--host <host>', 'address to bind; without API keys only loopback is allowed').env('HOST').default('127.0.0.1'))
  .action(async (options: { db: string; port: string; host: string }) => {
    await serve({ db: options.db, port: Number(options.port), host: options.host });
  });

program
  .command('migrate')
  .description('Apply pending schema migrations to the database and exit.')
  .addOption(db())
  .action(async (options: { db: string }) => {
    const { applied, current } = await migrate({ url: options.db });
    process.stdout.write(applied.length ? `applied ${applied.join(', ')}; schema is at ${current}\n` : `already at ${current}; nothing to do\n`);
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`colloquy: ${(error as Error).message}\n`);
  process.exit(1);
});
