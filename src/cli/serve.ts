import { isIP } from 'node:net';
import { ColloquyError } from '../domain/errors.js';
import { buildApp } from '../server/app.js';
import { openStore } from '../store/open-store.js';

export interface ServeOptions {
  db: string;
  port: number;
  host: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const isLoopback = (host: string) => LOOPBACK.has(host) || (isIP(host) === 4 && host.startsWith('127.'));

/** Starts the server; stops gracefully on SIGTERM/SIGINT: no new requests, in-flight ones finish, the store closes. */
export async function serve(options: ServeOptions): Promise<void> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new ColloquyError('invalid_argument', `Invalid port "${options.port}": use 0–65535.`);
  }
  if (!isLoopback(options.host)) {
    throw new ColloquyError(
      'invalid_argument',
      `Refusing to serve on ${options.host} without API keys: anyone who can reach it could read every conversation. ` +
        'Bind to 127.0.0.1 (the default) and put an authenticating proxy in front; API keys are a planned feature.',
    );
  }
  const store = await openStore({ url: options.db });
  const app = await buildApp({ store });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  const address = await app.listen({ port: options.port, host: options.host });
  process.stdout.write(`colloquy: serving ${options.db.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')} at ${address}/v1 (health: ${address}/health)\n`);
}
