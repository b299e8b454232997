import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { decideListen, isLoopback } from '../../src/tenancy/listen-policy';

const settings = (env: Record<string, string> = {}) => loadConfig(env);

describe('where the API listens (decideListen)', () => {
  it('When HOST is unset and no key exists, then it listens on 127.0.0.1 only and warns how to add a key', () => {
    const d = decideListen(settings(), false);
    expect(d).toMatchObject({ host: '127.0.0.1', requireKeys: false });
    expect(d.warning).toMatch(/authentication is off.*127\.0\.0\.1 only.*npm run keys -- create --tenant/);
  });

  it('When HOST is unset and keys exist, then it listens on 0.0.0.0 and keys stay required even if all are revoked', () => {
    expect(decideListen(settings(), true)).toEqual({ host: '0.0.0.0', requireKeys: true });
  });

  it('When HOST is a non-loopback address and no key exists, then startup refuses naming the fixes', () => {
    for (const host of ['0.0.0.0', '10.1.2.3', '::']) {
      expect(() => decideListen(settings({ HOST: host }), false)).toThrow(ConfigError);
      expect(() => decideListen(settings({ HOST: host }), false)).toThrow(
        /not a loopback address.*npm run keys.*unset HOST.*ALLOW_ANONYMOUS=true/,
      );
    }
  });

  it('When ALLOW_ANONYMOUS=true, then a non-loopback HOST without keys is allowed, with auth off and a warning', () => {
    const d = decideListen(settings({ HOST: '0.0.0.0', ALLOW_ANONYMOUS: 'true' }), false);
    expect(d).toMatchObject({ host: '0.0.0.0', requireKeys: false });
    expect(d.warning).toMatch(/ALLOW_ANONYMOUS=true: authentication is off on 0\.0\.0\.0/);
  });

  it('When REQUIRE_AUTH=true, then startup refuses without keys (whatever HOST) and starts with them', () => {
    const envs: Array<Record<string, string>> = [
      { REQUIRE_AUTH: 'true' },
      { REQUIRE_AUTH: 'true', HOST: '127.0.0.1' },
      { REQUIRE_AUTH: 'true', ALLOW_ANONYMOUS: 'true' },
    ];
    for (const env of envs) {
      expect(() => decideListen(settings(env), false)).toThrow(/REQUIRE_AUTH=true but no API key exists/);
    }
    expect(decideListen(settings({ REQUIRE_AUTH: 'true' }), true).host).toBe('0.0.0.0');
  });

  it('When HOST is a loopback address, then no key is needed and keys are not locked on', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) {
      expect(isLoopback(host)).toBe(true);
      expect(decideListen(settings({ HOST: host }), false).host).toBe(host);
      expect(decideListen(settings({ HOST: host }), true).requireKeys).toBe(false);
    }
    expect(isLoopback('128.0.0.1')).toBe(false);
  });
});

describe('docker-compose.yml', () => {
  // The file must stay what `docker compose config` reads.

  const yaml = require('js-yaml') as { load(text: string): any };
  const compose = yaml.load(fs.readFileSync(path.resolve(__dirname, '../../docker-compose.yml'), 'utf8'));

  it('When compose starts the API, then it requires keys, passes them through and leaves HOST to the key rule', () => {
    const env = compose.services.api.environment;
    expect(env.REQUIRE_AUTH).toBe('true');
    expect(env.API_KEYS).toBe('${API_KEYS:-}');
    expect(env.ADMIN_API_KEY).toBe('${ADMIN_API_KEY:-}');
    expect(env.HOST).toBeUndefined();
    expect(env.ALLOW_ANONYMOUS).toBeUndefined();
    // The compose environment is what loadConfig sees: with no keys it refuses to listen.
    const asLoaded = loadConfig({
      ...env,
      API_KEYS: '',
      ADMIN_API_KEY: '',
      QDRANT_API_KEY: '',
      MISTRAL_API_KEY: '',
      MISTRAL_SERVER_URL: '',
      LOG_LEVEL: 'info',
    });
    expect(() => decideListen(asLoaded, false)).toThrow(/REQUIRE_AUTH=true/);
  });
});
