import { ConfigError, loadConfig } from '../../src/config';
import { buildModelRegistry } from '../../src/gateway/model-registry';
import { spawnEntry } from '../support/spawn-entry';

/** The ConfigError loadConfig throws for this environment (fails the test when it does not throw one). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('model configuration', () => {
  test('When MODEL_EMBED is unknown and there is no Mistral key, then startup stops naming MODEL_EMBED alone', () => {
    const err = configError({ MODEL_EMBED: 'nope-embed' });
    expect(err.message).toBe(
      'Invalid configuration: MODEL_EMBED=nope-embed is not a known model (embed models: mistral-embed, offline-hash-v1)',
    );
  });

  test('When MODEL_CHAT needs Mistral and there is no key, then startup stops saying so and offers the offline model', () => {
    expect(configError({ MODEL_CHAT: 'mistral-large-latest' }).message).toBe(
      'Invalid configuration: MODEL_CHAT=mistral-large-latest needs MISTRAL_API_KEY (or use offline-extractive)',
    );
    expect(configError({ MODEL_SUMMARIZE: 'mistral-small-latest' }).message).toBe(
      'Invalid configuration: MODEL_SUMMARIZE=mistral-small-latest needs MISTRAL_API_KEY (or use offline-summarizer)',
    );
    expect(configError({ MODEL_EMBED: 'mistral-embed' }).message).toBe(
      'Invalid configuration: MODEL_EMBED=mistral-embed needs MISTRAL_API_KEY (or leave MODEL_EMBED unset for the offline embedder)',
    );
  });

  test('When MODEL_CHAT is unknown, then the message names MODEL_CHAT only, with or without a key', () => {
    for (const env of [
      { MODEL_CHAT: 'gpt-9' } as Record<string, string>,
      { MODEL_CHAT: 'gpt-9', MISTRAL_API_KEY: 'k', MODEL_EMBED: 'mistral-embed' },
    ]) {
      const { message } = configError(env);
      expect(message).toMatch(/^Invalid configuration: MODEL_CHAT=gpt-9 is not a known model \(chat models: /);
      expect(message).not.toMatch(/MODEL_SUMMARIZE|MODEL_EMBED/);
      expect(message).not.toContain('\n');
    }
  });

  test('When a model of another purpose is named, then startup stops naming the variable and the purpose', () => {
    expect(configError({ MODEL_CHAT: 'mistral-embed', MISTRAL_API_KEY: 'k' }).message).toBe(
      'Invalid configuration: MODEL_CHAT=mistral-embed serves embed, not chat (use one of offline-extractive, mistral-small-latest, mistral-medium-latest, mistral-large-latest)',
    );
    expect(configError({ MODEL_EMBED: 'mistral-small-latest', MISTRAL_API_KEY: 'k' }).message).toMatch(
      /^Invalid configuration: MODEL_EMBED=mistral-small-latest serves chat\/summarize, not embed \(use one of mistral-embed, offline-hash-v1\)$/,
    );
    expect(configError({ MODEL_CHAT: 'offline-summarizer' }).message).toMatch(
      /^Invalid configuration: MODEL_CHAT=offline-summarizer serves summarize, not chat/,
    );
    expect(configError({ MODEL_EMBED: 'offline-hash-v1', MISTRAL_API_KEY: 'k' }).message).toMatch(
      /^Invalid configuration: MODEL_EMBED=offline-hash-v1 is the offline embedder, used only without MISTRAL_API_KEY/,
    );
  });

  test('When every MODEL_* can be served with the keys present, then the configuration loads and routes them', () => {
    const offline = loadConfig({ MODEL_CHAT: 'offline-extractive', MODEL_SUMMARIZE: 'offline-summarizer', MODEL_EMBED: 'offline-hash-v1' });
    expect(buildModelRegistry({ ...offline.models, mistral: false }).routes).toEqual({
      chat: ['offline-extractive'],
      summarize: ['offline-summarizer'],
      embed: [],
    });
    const mistral = loadConfig({ MISTRAL_API_KEY: 'k', MODEL_CHAT: 'mistral-large-latest', MODEL_EMBED: 'mistral-embed' });
    expect(buildModelRegistry({ ...mistral.models, mistral: true }).routes.chat).toEqual([
      'mistral-large-latest',
      'mistral-small-latest',
      'offline-extractive',
    ]);
    expect(() => loadConfig({})).not.toThrow();
  });

  test('When the server starts with a wrong MODEL_CHAT, then it exits 1 with one stderr line naming MODEL_CHAT', async () => {
    const child = spawnEntry('src/server.ts', { MODEL_CHAT: 'mistral-large-latest', REDIS_URL: 'redis://127.0.0.1:1', PORT: '0' }, [
      'ignore',
      'ignore',
      'pipe',
    ]);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close' comes after the exit and after stderr has been read to its end.
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /: Invalid configuration: MODEL_CHAT=mistral-large-latest needs MISTRAL_API_KEY \(or use offline-extractive\)$/,
      ),
    ]);
  }, 60_000);
});
