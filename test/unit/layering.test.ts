import fs from 'node:fs';
import path from 'node:path';

/**
 * The foundation layer (src/core: token counting, keyword terms, sparse vectors, rank fusion, parsed-document types)
 * imports nothing else in src/, so every feature may build on it and none drags another in through it.
 */
const SRC = path.resolve(__dirname, '../../src');
const CORE = path.join(SRC, 'core');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function relativeImports(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) specs.push(m[1]);
  return specs;
}

/** Imports of the files under `dir` that resolve outside it, as "file -> specifier". */
function importsLeaving(dir: string): string[] {
  return tsFiles(dir).flatMap((file) =>
    relativeImports(fs.readFileSync(file, 'utf8'))
      .filter((spec) => !path.resolve(path.dirname(file), spec).startsWith(dir + path.sep))
      .map((spec) => `${path.relative(SRC, file)} -> ${spec}`),
  );
}

describe('The foundation layer (src/core)', () => {
  it('imports nothing else in src/', () => {
    expect(tsFiles(CORE).length).toBeGreaterThan(0);
    expect(importsLeaving(CORE)).toEqual([]);
  });

  it('is checked by a finder that sees every kind of import', () => {
    const sample = [
      "import { a } from '../x';",
      "import type { B } from './y';",
      "export { c } from '../../z';",
      "import './side-effect';",
      "const m = await import('../dynamic');",
      "import os from 'node:os';",
    ].join('\n');
    expect(relativeImports(sample)).toEqual(['../x', './y', '../../z', './side-effect', '../dynamic']);
  });
});
