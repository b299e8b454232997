import { Redis, type RedisOptions } from 'ioredis';
import { AppError, dependencyUnavailable } from '../errors';

/**
 * Redis connections. The API's client fails fast while Redis is away (no offline queue), so requests answer
 * 503 `dependency_unavailable` at once instead of hanging; it keeps reconnecting in the background.
 * BullMQ workers need `maxRetriesPerRequest: null` (blocking commands), so they get their own connection.
 */

const reconnect = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);

export function createCommandClient(url: string, name: string): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    // Commands issued in the same tick share one round trip: a bulk upload or a busy worker issues many at once.
    enableAutoPipelining: true,
    retryStrategy: reconnect,
  });
  client.on('error', () => undefined); // state is surfaced through readiness and 503s, not log floods
  return client;
}

export function createWorkerConnection(url: string, name: string, extra: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: reconnect,
    ...extra,
  });
  client.on('error', () => undefined);
  return client;
}

/**
 * Checked once at startup: without Redis nothing works, so the process says so in one line and exits,
 * rather than printing a stack trace or reconnecting forever.
 */
export async function assertRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RedisUnreachableError(
      `cannot reach Redis at REDIS_URL=${redactUrl(url)} (${reason}). ` +
        'Start one with "redis-server --daemonize yes" (Debian: apt-get install -y redis-server), or set REDIS_URL to a running server.',
    );
  } finally {
    probe.disconnect();
  }
}

/**
 * Waits until a command client is connected. The API's clients fail commands at once while not connected (no
 * offline queue), so a request arriving in the first milliseconds after startup would otherwise answer 503.
 */
export async function waitUntilReady(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new RedisUnreachableError(`Redis did not accept a connection within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** ioredis's ways of saying the server is not there right now. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string };
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test(e.message) ||
    e.code === 'ECONNREFUSED'
  );
}

export function redisUnavailable(cause: unknown): AppError {
  return dependencyUnavailable('redis', cause, { label: 'Redis', headers: { 'Retry-After': '2' } });
}

/** Redis at `maxmemory` with `noeviction` refuses writes with this reply (reads still work). */
export function isRedisOutOfMemory(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (/\bOOM command not allowed/.test(err.message)) return true;
  // A MULTI whose queued command was refused fails as EXECABORT; the OOM reply is among ioredis's `previousErrors`.
  const previous = (err as { previousErrors?: unknown }).previousErrors;
  return Array.isArray(previous) && previous.some((e) => e instanceof Error && /\bOOM command not allowed/.test(e.message));
}

/**
 * 507 `storage_full`, not 503 `dependency_unavailable`: Redis answers, it is full, and it stays full until an operator
 * frees or adds memory (or sessions expire). A 503 would tell clients to retry in seconds, which only adds load; 507
 * says "the server cannot store this" and Retry-After asks for minutes. Retryable for workers: a job backs off and may
 * succeed once memory is freed.
 */
export function redisOutOfMemory(cause: unknown): AppError {
  return new AppError(
    'storage_full',
    'Redis is out of memory; the request was not stored. Try again later',
    { dependency: 'redis' },
    {
      cause,
      headers: { 'Retry-After': '60' },
    },
  );
}
