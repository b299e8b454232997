import { readFile } from 'node:fs/promises';

/**
 * Resident memory of a process in MB, from /proc (Linux); undefined where there is none or it is gone. The parent
 * reads it because a child blocked in a parse cannot report anything itself.
 */
export async function residentMemoryMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
