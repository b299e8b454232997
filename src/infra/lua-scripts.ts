import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const INCLUDE = /^--\s*@include\s+"([\w-]+)"\s*$/gm;

/**
 * The Lua scripts of one folder (`name.lua`), each read from disk once per process. A line `-- @include "helper"` is
 * replaced by `helper.lua` of the same folder, at most once per script (as BullMQ composes its own scripts), so a
 * helper several scripts share lives in one file. Scripts are plain files so editors, linters and `redis-cli --eval`
 * read them as Lua, not as strings inside TypeScript.
 */
export function luaFolder(dir: string): (name: string) => string {
  const loaded = new Map<string, string>();
  const expand = (name: string, included: Set<string>, stack: string[]): string => {
    included.add(name);
    const source = readFileSync(join(dir, `${name}.lua`), 'utf8');
    return source.replace(INCLUDE, (_line, dep: string) => {
      if (stack.includes(dep) || dep === name) throw new Error(`Lua include cycle: ${[...stack, name, dep].join(' -> ')}`);
      return included.has(dep) ? '' : expand(dep, included, [...stack, name]).trimEnd();
    });
  };
  return (name) => {
    let script = loaded.get(name);
    if (script === undefined) {
      script = expand(name, new Set(), []);
      loaded.set(name, script);
    }
    return script;
  };
}
