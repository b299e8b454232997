import { ConfigError, loadConfig } from '../../src/config';
import { isValidTenantName, tenantNameProblem } from '../../src/tenancy/tenant-name';

describe('tenant names', () => {
  it.each(['alpha', 'Beta-2', 'a', '0', 'team_42', 'x'.repeat(64)])('When the name is %p, then it is accepted', (name) => {
    expect(isValidTenantName(name)).toBe(true);
    expect(tenantNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['dot', '.'],
    ['dot-dot', '..'],
    ['a path', 'a/b'],
    ['a backslash path', 'a\\b'],
    ['a Redis key separator', 'a:b'],
    ['a hash tag', '{alpha}'],
    ['a brace', 'al}pha'],
    ['a space', 'al pha'],
    ['a tab', 'al\tpha'],
    ['a newline', 'alpha\n'],
    ['a leading dash', '-alpha'],
    ['a leading underscore', '_alpha'],
    ['a dot inside', 'alpha.beta'],
    ['a wildcard', 'alpha*'],
    ['non-ASCII letters', 'älpha'],
    ['65 characters', 'x'.repeat(65)],
  ])('When the name has %s, then it is refused with the rule', (_what, name) => {
    expect(isValidTenantName(name)).toBe(false);
    expect(tenantNameProblem(name)).toMatch(/is not valid: expected a letter or digit/);
  });

  it('When API_KEYS names a tenant outside the safe set, then configuration stops naming API_KEYS and the tenant', () => {
    for (const bad of ['k1=../etc', 'k1=a b', 'k1={x}', 'k1=alpha,k2=be:ta']) {
      expect(() => loadConfig({ API_KEYS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ API_KEYS: bad })).toThrow(/API_KEYS: tenant .* is not valid/);
    }
    expect([...loadConfig({ API_KEYS: 'k1=alpha,k2=Beta_2' }).apiKeys!.values()]).toEqual(['alpha', 'Beta_2']);
  });
});
