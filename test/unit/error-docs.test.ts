import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../../scripts/docs-errors';
import { ERROR_CATALOGUE, isErrorCode } from '../../src/errors';

/** docs/errors.md is generated from the catalogue, and every error code the source writes as a literal is in it. */

const ROOT = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|js)$/.test(name) ? [full] : [];
  });
}

/** zod's own issue codes share the `code:` key with ours; they are not error codes of the service. */
const ZOD_ISSUE_CODES = new Set([
  'custom',
  'invalid_type',
  'too_big',
  'too_small',
  'invalid_format',
  'invalid_union',
  'invalid_key',
  'invalid_element',
  'invalid_value',
  'unrecognized_keys',
  'not_multiple_of',
]);

describe('When docs/errors.md is compared with the catalogue', () => {
  it('Then it is exactly what `npm run docs:errors` writes', () => {
    expect(readFileSync(ERRORS_DOC_PATH, 'utf8')).toBe(renderErrorsDoc());
  });

  it('Then every catalogue code has a row', () => {
    const doc = readFileSync(ERRORS_DOC_PATH, 'utf8');
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(doc).toContain(`| \`${code}\` |`);
  });
});

describe('When the source writes an error code as a string literal', () => {
  it('Then the code is in the catalogue (src/ and workers/)', () => {
    const unknown: string[] = [];
    let seen = 0;
    for (const file of [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'workers'))]) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/addIssue|ZodIssue/.test(line)) return;
          for (const m of line.matchAll(/(?<![.\w])(?:code|errorCode):\s*'([a-z][a-z0-9_]*)'/g)) {
            if (ZOD_ISSUE_CODES.has(m[1])) continue;
            seen += 1;
            if (!isErrorCode(m[1])) unknown.push(`${file.slice(ROOT.length + 1)}:${i + 1} ${m[1]}`);
          }
        });
    }
    expect(unknown).toEqual([]);
    // The scan finds the literals it is meant to check (e.g. ingest_failed in workers/ingest.processor.ts).
    expect(seen).toBeGreaterThan(0);
  });
});
