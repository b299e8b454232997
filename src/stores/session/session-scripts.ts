import { join } from 'node:path';
import { luaFolder } from '../../infra/lua-scripts';

/**
 * The session store's Lua scripts (SessionStore), in `lua/`: every multi-key change of a session is one script, so it
 * is atomic, and every key a script touches shares the session's hash tag. Each file says its KEYS, ARGV and answer.
 */
const lua = luaFolder(join(__dirname, 'lua'));

export const CREATE = lua('create');
export const APPEND = lua('append');
export const RANGE = lua('range');
export const SET_SUMMARY = lua('set-summary');
export const MARK_RECALL = lua('mark-recall');
export const DELETE = lua('delete');
export const TRY_LOCK = lua('try-lock');
export const UNLOCK = lua('unlock');
