import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config';
import { startTestServer, type TestServer } from './test-server';
import { redisEnvOf } from './test-redis';

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
export function spawnWorker(
  config: Readonly<Pick<Config, 'redis' | 'redisPrefix' | 'dataDir'>>,
  env: Record<string, string> = {},
): ChildProcess {
  return spawnEntry('workers/index.ts', {
    ...redisEnvOf(config.redis),
    REDIS_PREFIX: config.redisPrefix,
    DATA_DIR: config.dataDir,
    LOG_LEVEL: 'warn',
    ...env,
  });
}

/** The direct children of a process (an API's forked workers), from the kernel's own list; none once it has exited. */
export function childrenOf(pid: number): number[] {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return raw ? raw.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
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
function workerProcesses(config: () => Readonly<Pick<Config, 'redis' | 'redisPrefix' | 'dataDir'>>, defaults: Record<string, string>) {
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

/**
 * The API with no workers of its own, and workers started as their own processes (as in production), for a test file:
 * registers the jest hooks that start the API and, at the end, kill every worker and clean up. Workers get
 * `workerEnv`; both sides share `jobLockMs`, so a killed worker's job is taken over that soon. `serverEnv` (read when
 * the API starts) points it elsewhere, e.g. at a throwaway Redis a chaos test owns.
 */
export function apiWithWorkerProcesses(
  workerEnv: Record<string, string>,
  jobLockMs = '2000',
  serverEnv: () => Record<string, string> = () => ({}),
) {
  let server: TestServer;
  const workers = workerProcesses(() => server.services.config, { JOB_LOCK_MS: jobLockMs, ...workerEnv });
  beforeAll(async () => {
    server = await startTestServer({ RUN_WORKERS: 'off', JOB_LOCK_MS: jobLockMs, ...serverEnv() });
  });
  afterAll(async () => {
    await workers.killAll();
    await server?.cleanup();
  });
  return {
    get server(): TestServer {
      return server;
    },
    startWorker: (env?: Record<string, string>) => workers.start(env),
    /** SIGKILLs every worker started so far (so the next test's workers are the only ones taking jobs). */
    killWorkers: () => workers.killAll(),
  };
}
