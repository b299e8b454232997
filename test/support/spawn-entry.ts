import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/**
 * Runs one of the service's entry points (src/server.ts, workers/index.ts) from TypeScript as ONE process
 * (`node --import tsx`), so a signal sent to it reaches the service itself. The `tsx` binary would put a wrapper
 * process in between, and a SIGKILL to the wrapper leaves the real process running.
 */
export function spawnEntry(
  entry: string,
  env: Record<string, string | undefined>,
  stdio: StdioOptions = 'ignore',
  nodeArgs: string[] = [],
): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    cwd: ROOT,
    stdio,
    env: { PATH: process.env.PATH, LANCEDB_LOG: 'error', ...env },
  });
}

/** Resolves when the process has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
