import fs from 'node:fs';
import path from 'node:path';

/**
 * Imports point down only (docs/architecture.md): the entry points on top, then the API, the use cases, the features,
 * the stores, infra, and at the bottom the foundation layer (src/core), which imports nothing else in src/.
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

/** Rank of each top-level folder (or file) of src/: an import must go to a lower rank or stay in its own folder. */
const RANKS: Record<string, number> = {
  'server.ts': 11,
  'services.ts': 10,
  cli: 10,
  api: 9,
  // The MCP endpoint: the API's use cases as tools, on the API's schemas, auth and router; above it, as the app mounts it
  // (that one edge is allowed below).
  mcp: 9.5,
  // The typed HTTP client (under the CLI and the web console); it imports nothing else in src/ (see below).
  client: 9,
  sessions: 8,
  reindex: 8,
  ingest: 7,
  context: 7,
  search: 6,
  indexes: 5,
  queues: 4,
  gateway: 4,
  tenancy: 4,
  stores: 3,
  infra: 2,
  'config.ts': 1,
  'config-types.ts': 0.5,
  'errors.ts': 1,
  types: 1,
  core: 0,
};

/** Config validates settings with the rules of what they configure (model names, tenant names). */
const ALLOWED = new Set([
  'config.ts -> gateway/model-registry.ts',
  'config.ts -> tenancy/tenant-name.ts',
  // The app mounts POST /mcp behind its own auth and body limits; src/mcp builds on the API's schemas and middleware.
  'api/app.ts -> mcp/mcp-router.ts',
]);

const unitOf = (file: string) => path.relative(SRC, file).split(path.sep)[0];

/** Imports in src/ that point up or sideways, as "file -> target". */
function importsAgainstTheOrder(): string[] {
  return tsFiles(SRC).flatMap((file) => {
    const from = unitOf(file);
    return relativeImports(fs.readFileSync(file, 'utf8')).flatMap((spec) => {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(SRC + path.sep)) return [];
      // A folder import ('../client') means its index.ts.
      const targetFile = target.endsWith('.ts')
        ? target
        : fs.existsSync(target) && fs.statSync(target).isDirectory()
          ? path.join(target, 'index.ts')
          : `${target}.ts`;
      const to = unitOf(targetFile);
      const edge = `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}.ts`;
      if (from === to || ALLOWED.has(edge)) return [];
      if (RANKS[from] === undefined || RANKS[to] === undefined) return [`${edge} (a folder with no rank: add it to RANKS)`];
      return RANKS[from] > RANKS[to] ? [] : [edge];
    });
  });
}

describe('The layers of src/', () => {
  it('import downwards only', () => {
    expect(importsAgainstTheOrder()).toEqual([]);
  });
});

describe('The typed client (src/client)', () => {
  it('imports nothing else in src/: it runs in browsers and in programs that have only the client', () => {
    expect(tsFiles(path.join(SRC, 'client')).length).toBeGreaterThan(0);
    expect(importsLeaving(path.join(SRC, 'client'))).toEqual([]);
  });
});

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
