import { join } from 'node:path';
import { luaFolder } from '../../infra/lua-scripts';

/**
 * The Lua scripts that write document records together with the tenant's usage (in `lua/`), so the quotas
 * (TENANT_MAX_DOCUMENTS, TENANT_MAX_BYTES) are checked and counted in the same atomic step as the write they bound: two
 * replicas racing for the last slot cannot both win, and a delete racing a delete subtracts once. Every key is in the
 * tenant's hash tag.
 *
 * The document count is the tenant's list (ZCARD): exact by construction. The byte total is a counter, built the first
 * time a script needs it from the records already stored (a deployment that predates it), then kept by these scripts.
 */
const lua = luaFolder(join(__dirname, 'lua'));

export const CREATE_WITHIN_QUOTA = lua('create-within-quota');
export const UPDATE_COUNTED = lua('update-counted');
export const REMOVE_COUNTED = lua('remove-counted');
export const CREATE_MANY_WITHIN_QUOTA = lua('create-many-within-quota');
