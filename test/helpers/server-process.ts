import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  /** SIGTERM, and resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `colloquy serve` on a free port with the given extra arguments; resolves with its base URL once it listens. */
export async function startServer(db: string, args: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--db', db, '--port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOST: '127.0.0.1', ...env },
  });
  proc.stderr!.resume();
  for await (const line of createInterface({ input: proc.stdout! })) {
    const match = / at (http:\/\/\S+)\/v1 /.exec(line);
    if (match) {
      proc.stdout!.resume();
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      return {
        url: match[1]!,
        proc,
        async stop() {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          await exited;
        },
      };
    }
  }
  throw new Error('colloquy serve exited before listening');
}
