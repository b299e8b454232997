import fs from 'node:fs';
import os from 'node:os';

/**
 * Lowers this process's CPU priority to `nice` (0-19; 0 leaves it alone). Linux keeps the nice value per thread and
 * a new thread takes its creator's, so every thread the process has now is lowered (V8's and libuv's start before any
 * of our code) and the ones started later (LanceDB's, the parser children) follow. Elsewhere only the main thread is.
 * Answers the nice value the main thread has afterwards.
 */
export function lowerCpuPriority(nice: number): number {
  if (nice > 0) {
    for (const tid of ownThreads()) {
      try {
        // Only ever raised (lowering needs privileges); a thread that has exited meanwhile is fine to miss.
        if (os.getPriority(tid) < nice) os.setPriority(tid, nice);
      } catch {
        /* gone, or not ours to change */
      }
    }
  }
  return os.getPriority();
}

function ownThreads(): number[] {
  try {
    return fs.readdirSync('/proc/self/task').map(Number);
  } catch {
    return [0]; // no /proc: this process (its calling thread)
  }
}
