import type { ChildProcess } from 'node:child_process';
import { exitOf, spawnEntry } from '../test/support/spawn-entry';

/** Starts one of the service's own entry points as a child process, the way production runs it. */
export function startProcess(
  entry: 'src/server.ts' | 'workers/index.ts',
  env: Record<string, string | undefined>,
  nodeArgs: string[] = [],
): ChildProcess {
  return spawnEntry(entry, { LOG_LEVEL: 'warn', ...env }, ['ignore', 'ignore', 'inherit'], nodeArgs);
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
