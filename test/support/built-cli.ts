import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './spawn-entry';

/**
 * Compiles the service as `npm run build` does (tsc with tsconfig.build.json), into a folder of its own under the
 * repository (so the compiled files find node_modules as dist/ does), and answers the built `ragmem` binary's path.
 * Tests run the same JavaScript users run, without touching dist/ that a developer may be using.
 */
export async function buildCli(): Promise<{ bin: string; remove(): void }> {
  const outDir = path.join(ROOT, '.test-build', `cli-${process.pid}-${Date.now()}`);
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT });
  return { bin: path.join(outDir, 'src', 'cli', 'main.js'), remove: () => fs.rmSync(outDir, { recursive: true, force: true }) };
}
