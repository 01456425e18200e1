import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr so far (its logs). */
  output(): string;
  /** SIGTERM, and resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `colloquy serve` on a free port with the given extra arguments; resolves with its base URL once it listens. */
export async function startServer(db: string, args: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--db', db, '--port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOST: '127.0.0.1', ...env },
  });
  const output: string[] = [];
  proc.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const lines = createInterface({ input: proc.stdout! });
  for await (const line of lines) {
    output.push(`${line}\n`);
    const match = / at (http:\/\/\S+)\/v1 /.exec(line);
    if (match) {
      // Leaving the loop closes the line reader: keep reading (and keeping) the rest as it comes.
      proc.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      proc.stdout!.resume();
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      return {
        url: match[1]!,
        proc,
        output: () => output.join(''),
        async stop() {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          await exited;
        },
      };
    }
  }
  throw new Error('colloquy serve exited before listening');
}
