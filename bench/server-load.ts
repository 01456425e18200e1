/** Server processes, databases and autocannon runs shared by the HTTP benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';

export const POSTGRES_URL = process.env.COLLOQUY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.COLLOQUY_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DIR = new URL('../.bench-tmp/', import.meta.url).pathname;
const ROOT = new URL('../', import.meta.url).pathname;
export const CONTENT = 'Olá! Gostaria de marcar uma consulta com a Dra. Silva na próxima terça-feira à tarde, se possível.';

/** Starts a server process and resolves with its base URL once it prints the address it listens on. */
export async function start(args: string[], pattern: RegExp): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  for await (const line of lines) {
    const match = pattern.exec(line);
    if (match) {
      proc.stdout!.resume(); // keep draining: a full pipe would stall the server
      return { url: match[1]!, proc };
    }
  }
  throw new Error(`${args.join(' ')} exited before listening`);
}

export const stop = async (proc: ChildProcess) => {
  proc.kill('SIGTERM');
  await new Promise((resolve) => proc.once('exit', resolve));
};

export interface Load {
  rps: number;
  total: number;
  p50: number;
  p99: number;
  errors: number;
}

export async function load(url: string, options: { method: 'GET' | 'POST'; path: () => string; body?: () => string; seconds?: number; amount?: number; headers?: (body: string) => Record<string, string> }): Promise<Load> {
  const result = await autocannon({
    url,
    connections: 64,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
    requests: [{
      method: options.method,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => {
        const body = options.body?.();
        const headers = body !== undefined && options.headers ? { ...request.headers, ...options.headers(body) } : request.headers;
        return { ...request, headers, path: options.path(), ...(body !== undefined ? { body } : {}) };
      },
    }],
  });
  return { rps: result.requests.average, total: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts };
}

export interface Database {
  url: string;
  schema: string;
  cleanup(): Promise<void>;
}

export async function database(backend: string): Promise<Database> {
  mkdirSync(DIR, { recursive: true });
  if (backend === 'sqlite') {
    const path = `${DIR}http-${process.pid}-${Date.now()}.db`;
    const cleanup = async () => {
      for (const file of [path, `${path}.raw`]) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
    };
    return { url: `sqlite:${path}`, schema: '-', cleanup };
  }
  const schema = `bench_http_${process.pid}_${Date.now()}`;
  return {
    url: `${POSTGRES_URL}?schema=${schema}`,
    schema,
    async cleanup() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

export const serveArgs = (db: string) => ['src/cli/main.ts', 'serve', '--db', db, '--port', '0', '--rate-limit', '0', '--log-level', 'warn'];
export const SERVING = / at (http:\/\/\S+)\/v1 /;

