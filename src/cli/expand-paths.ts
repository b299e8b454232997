import fs from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';

/**
 * The files named by the CLI's arguments: a file as it is, a folder with every file under it (hidden ones left out),
 * anything else as a glob pattern (quoted, so the shell left it to us). In argument order, each file once.
 * A path that names nothing is an error, not silence: the user would think it was uploaded.
 */
export async function expandPaths(args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => undefined);
    if (stat?.isFile()) files.push(path.resolve(arg));
    else if (stat?.isDirectory()) files.push(...(await glob('**/*', { cwd: arg, absolute: true, onlyFiles: true })).sort());
    else {
      const matched = (await glob(arg, { absolute: true, onlyFiles: true })).sort();
      if (matched.length === 0) throw new Error(`${arg}: no such file, folder or matching files`);
      files.push(...matched);
    }
  }
  return [...new Set(files)];
}
