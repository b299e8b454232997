import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Files that do one job stay small: issue 13 set 450 lines as the bound for the service's code. */
const MAX_LINES = 450;
const ROOT = path.resolve(__dirname, '../..');
/** Generated, not written: `npm run client:types` makes it from the OpenAPI document, and a test holds it to that. */
const GENERATED = new Set(['src/client/openapi-types.ts']);

describe('When the source files are measured', () => {
  it(`then none in src/ or workers/ is over ${MAX_LINES} lines`, () => {
    const over: string[] = [];
    for (const dir of ['src', 'workers']) {
      for (const file of readdirSync(path.join(ROOT, dir), { recursive: true }) as string[]) {
        if (!file.endsWith('.ts') || GENERATED.has(`${dir}/${file}`)) continue;
        const lines = readFileSync(path.join(ROOT, dir, file), 'utf8').split('\n').length;
        if (lines > MAX_LINES) over.push(`${dir}/${file}: ${lines}`);
      }
    }
    expect(over).toEqual([]);
  });
});
