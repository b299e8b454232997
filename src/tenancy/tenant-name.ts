/**
 * Tenant names end up inside Redis keys (as the hash tag `{tenant}`), vector-store filters, log lines and file paths,
 * so they are held to one safe set: a letter or digit first, then letters, digits, `_` or `-`, at most 64 in all.
 * That rules out `.` and `..`, path and key separators (`/`, `:`), whitespace, and the braces of Redis hash tags.
 */
export const TENANT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const TENANT_NAME_RULE = 'a letter or digit, then up to 63 letters, digits, "_" or "-"';

export const isValidTenantName = (name: string): boolean => TENANT_NAME_PATTERN.test(name);

/** Why `name` is not a valid tenant name, or undefined when it is. */
export function tenantNameProblem(name: string): string | undefined {
  if (isValidTenantName(name)) return undefined;
  return `tenant ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name)} is not valid: expected ${TENANT_NAME_RULE}`;
}
