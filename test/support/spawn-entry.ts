import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../../src/config';

/**
 * Timeout for a test that starts several worker processes and may wait for a killed one's job lock to expire: on a
 * loaded CI machine that takes minutes, not jest's default of one.
 */
export const SLOW_PROCESS_TEST_MS = 180_000;

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

/** A worker process (`npm run worker`) of the service `config` describes: same Redis, prefix and data directory. */
export function spawnWorker(config: Readonly<Pick<Config, 'redisUrl' | 'redisPrefix' | 'dataDir'>>, env: Record<string, string> = {}): ChildProcess {
  return spawnEntry('workers/index.ts', {
    REDIS_URL: config.redisUrl,
    REDIS_PREFIX: config.redisPrefix,
    DATA_DIR: config.dataDir,
    LOG_LEVEL: 'warn',
    ...env,
  });
}

/** Resolves when the process has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Worker processes a test starts and must not leave behind: `start` spawns one (with `env` over the defaults given
 * here), `killAll` SIGKILLs whatever still runs and waits for every exit.
 */
export function workerProcesses(config: () => Readonly<Pick<Config, 'redisUrl' | 'redisPrefix' | 'dataDir'>>, defaults: Record<string, string>) {
  const started: ChildProcess[] = [];
  return {
    start(env: Record<string, string> = {}): ChildProcess {
      const child = spawnWorker(config(), { ...defaults, ...env });
      started.push(child);
      return child;
    },
    async killAll(): Promise<void> {
      for (const child of started) child.kill('SIGKILL');
      await Promise.all(started.map(exitOf));
    },
  };
}
