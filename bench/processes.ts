import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
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
