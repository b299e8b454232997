import { spawn } from 'node:child_process';
import { ROOT } from '../support/spawn-entry';
import { holdsWithin } from '../support/change-bound';
import { startTestServer, type TestServer } from '../support/test-server';
import { redisEnvOf } from '../support/test-redis';

/** `npm run keys`, run as a real process (node + tsx, as the npm script does) against the test Redis and prefix. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RUN_WORKERS: 'off' });
});
afterAll(async () => {
  await server?.cleanup();
});

function keysCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/keys.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...redisEnvOf(server.services.config.redis), REDIS_PREFIX: server.services.config.redisPrefix },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const documents = async (key?: string) =>
  (await server.request('GET', '/documents', undefined, key ? { authorization: `Bearer ${key}` } : {})).status;

describe('When an operator manages keys with the CLI', () => {
  it('then create prints the key once with a warning, the key opens the API, list shows it, revoke closes it', async () => {
    const created = await keysCli('create', '--tenant', 'acme', '--label', 'ci bot');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const key = /\b(rmk_[A-Za-z0-9_-]{43})\b/.exec(created.stdout)?.[1];
    const id = /Created key (key_\S+) for tenant acme \(ci bot\)/.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect(id).toBeDefined();
    expect(created.stdout).toMatch(/shown only this once/);
    const madeAt = Date.now();

    await holdsWithin('the CLI key at the service', madeAt, 1000, async () => (await documents(key)) === 200);
    // Requests without a key are refused once the service sees that a key exists: within the same second's bound.
    await holdsWithin('auth on at the service', madeAt, 1000, async () => (await documents()) === 401);

    const table = await keysCli('list');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TENANT\s+LABEL\s+CREATED\s+REVOKED$/);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+acme\\s+ci bot\\s+\\d{4}-`));
    expect(table.stdout).not.toContain(key);
    const json = await keysCli('list', '--json', '--tenant', 'acme');
    expect(JSON.parse(json.stdout)).toEqual([{ id, tenant: 'acme', label: 'ci bot', createdAt: expect.any(String) }]);

    // Another key keeps auth on: with no key left at all a loopback service turns auth off (see secure-defaults).
    await server.services.keyStore.create('other');
    const revoked = await keysCli('revoke', id!);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`Revoked key ${id} of tenant acme`));
    await holdsWithin('revocation at the service', Date.now(), 1000, async () => (await documents(key)) === 401);
  });

  it('then a bad tenant, an unknown id or a missing option exits 1 with one line saying why', async () => {
    const bad = await keysCli('create', '--tenant', '../etc');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'keys: tenant "../etc" is not valid: expected a letter or digit, then up to 63 letters, digits, "_" or "-"',
    );
    const unknown = await keysCli('revoke', 'key_nope');
    expect({ code: unknown.code, stderr: unknown.stderr.trim() }).toEqual({ code: 1, stderr: 'keys: no key has the id "key_nope"' });
    const missing = await keysCli('create');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/required option '--tenant <tenant>' not specified/);
  });
});
