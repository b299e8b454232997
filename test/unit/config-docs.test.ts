import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../../src/config';

/**
 * The variables docs/configuration.md's table names in its first column: `NAME`, and `_SUFFIX` written after a full
 * name in the same cell (`CONTEXT_SHARE_RETRIEVED` / `_SUMMARY` is CONTEXT_SHARE_SUMMARY).
 */
function documentedVariables(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('| `')) continue;
    let base: string | undefined;
    for (const [, name] of line.split('|')[1].matchAll(/`([A-Z_][A-Z0-9_]*)`/g)) {
      if (name.startsWith('_') && base) names.add(base.replace(/_[A-Z0-9]+$/, '') + name);
      else names.add((base = name));
    }
  }
  return names;
}

describe('docs/configuration.md', () => {
  const documented = documentedVariables(fs.readFileSync(path.resolve(__dirname, '../../docs/configuration.md'), 'utf8'));

  it('When a variable is read from the environment, then the configuration page documents it', () => {
    expect(CONFIG_VARIABLES.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('When the configuration page names a variable, then the service reads it', () => {
    expect([...documented].filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
  });
});
