import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ChatCache } from '../../src/gateway/safety/chat-cache';
import type { ChatRequest, ChatResult } from '../../src/gateway/provider';

// A cached answer costs nothing and records no usage: shared across tenants, a hit would tell one tenant that another
// had sent the same prompt.
let redis: Redis;
const prefix = `t${randomBytes(5).toString('hex')}`;
beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL!);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const req: ChatRequest = { model: 'small', messages: [{ role: 'user', content: 'summarise the turns' }], maxTokens: 100, temperature: 0 };
const result: ChatResult = { text: 'a summary', model: 'small', usage: { promptTokens: 5, completionTokens: 2 }, finishReason: 'stop' };

describe('When two tenants send the same temperature-0 request', () => {
  it('then only the tenant that made the answer is served it from the cache', async () => {
    const cache = new ChatCache(redis, prefix, { enabled: true });
    expect(await cache.set(req, result, 'alpha')).toBe(true);
    expect(await cache.get(req, 'alpha')).toEqual(result);
    expect(await cache.get(req, 'beta')).toBeUndefined();
    expect(await cache.get(req)).toBeUndefined();
  });
});
