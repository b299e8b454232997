/**
 * Builds the web console (console/) into a folder the API serves at `/` (CONSOLE_DIR, default dist/console):
 * index.html and styles.css as they are, and app.js, one bundle of console/src/main.ts with the typed client.
 * `npm run build` runs it after tsc; tests call buildConsole() into a temp folder.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.join(__dirname, '..');
export const CONSOLE_SOURCE = path.join(ROOT, 'console');
export const DEFAULT_CONSOLE_OUT = path.join(ROOT, 'dist', 'console');

/** Writes index.html, app.js and styles.css to `outDir` (made if missing); answers the files written. */
export async function buildConsole(outDir: string = DEFAULT_CONSOLE_OUT): Promise<string[]> {
  await fs.mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(CONSOLE_SOURCE, 'src', 'main.ts')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    // console/tsconfig.json: the browser's settings, not the root project's Node ones.
    tsconfig: path.join(CONSOLE_SOURCE, 'tsconfig.json'),
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'styles.css']) await fs.copyFile(path.join(CONSOLE_SOURCE, file), path.join(outDir, file));
  return ['index.html', 'app.js', 'styles.css'].map((file) => path.join(outDir, file));
}

if (require.main === module) {
  buildConsole(process.argv[2] ? path.resolve(process.argv[2]) : undefined).then(
    (files) => console.log(`console built: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
