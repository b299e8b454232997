import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, startRedis, type ThrowawayRedis } from '../test/support/redis-server';
import { ROOT, exitOf } from '../test/support/spawn-entry';

let built = false;
/**
 * Builds the service once per bench run (`npm run build`, as `npm start` does first), so the processes measured run the
 * compiled JavaScript a user runs, not the sources through tsx's loader.
 */
function ensureBuilt(): void {
  if (built) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  built = true;
}

/** Starts one of the service's own entry points as a child process, the way production runs it: `node dist/...js`. */
export function startProcess(
  entry: 'src/server.ts' | 'workers/index.ts',
  env: Record<string, string | undefined>,
  nodeArgs: string[] = [],
): ChildProcess {
  ensureBuilt();
  const compiled = path.join(ROOT, 'dist', entry.replace(/\.ts$/, '.js'));
  return spawn(process.execPath, [...nodeArgs, compiled], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH, LANCEDB_LOG: 'error', LOG_LEVEL: 'warn', ...env },
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  const exited = exitOf(child);
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(force);
}

export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Deployment {
  base: string;
  redis: ThrowawayRedis;
  dataDir: string;
  api: ChildProcess;
  worker?: ChildProcess;
  /** Stops the processes and Redis, and removes the data directory. */
  stop(): Promise<void>;
}

/**
 * The service as `npm start` runs it (the compiled API, which forks its workers unless `env` says otherwise), on a
 * throwaway Redis and a temp data directory; with `separateWorker`, a `npm run worker` process beside it.
 */
export async function deployService(
  name: string,
  env: Record<string, string>,
  opts: { separateWorker?: boolean; nodeArgs?: string[] } = {},
): Promise<Deployment> {
  const redis = await startRedis();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), `ragmem-bench-${name}-`));
  const port = await freePort();
  const shared = { REDIS_URL: redis.url, DATA_DIR: dataDir, REDIS_PREFIX: 'bench', ...env };
  const api = startProcess('src/server.ts', { ...shared, PORT: String(port), HOST: '127.0.0.1' }, opts.nodeArgs);
  const worker = opts.separateWorker ? startProcess('workers/index.ts', shared, opts.nodeArgs) : undefined;
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await Promise.all([api, ...(worker ? [worker] : [])].map(stopProcess));
    await redis.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${base}/readyz`, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { base, redis, dataDir, api, worker, stop };
}
