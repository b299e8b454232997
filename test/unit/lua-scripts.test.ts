import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { luaFolder } from '../../src/infra/lua-scripts';

describe('When Lua scripts are read from their folder', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lua-'));
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, `${name}.lua`), text);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('then an include is replaced by its file, once per script even when two helpers include it', () => {
    write('clock', 'local now = 1\n');
    write('touch', '-- @include "clock"\nlocal function touch() return now end\n');
    write('init', '-- @include "clock"\n-- @include "touch"\nlocal function init() return touch() end\n');
    write('main', '-- KEYS: none\n-- @include "init"\n-- @include "touch"\nreturn init()\n');
    const script = luaFolder(dir)('main');
    expect(script.match(/local now = 1/g)).toHaveLength(1);
    expect(script.match(/local function touch/g)).toHaveLength(1);
    expect(script.indexOf('local now')).toBeLessThan(script.indexOf('local function touch'));
    expect(script.indexOf('local function init')).toBeLessThan(script.indexOf('return init()'));
    expect(script).not.toContain('@include');
  });

  it('then a file is read once per process: a later change on disk is not seen', () => {
    write('once', 'return 1\n');
    const lua = luaFolder(dir);
    expect(lua('once')).toBe('return 1\n');
    write('once', 'return 2\n');
    expect(lua('once')).toBe('return 1\n');
  });

  it('then an include cycle and a missing file are refused with their names', () => {
    write('a', '-- @include "b"\n');
    write('b', '-- @include "a"\n');
    expect(() => luaFolder(dir)('a')).toThrow('Lua include cycle: a -> b -> a');
    expect(() => luaFolder(dir)('missing')).toThrow(/missing\.lua/);
  });
});
