import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config';
import { AppError, dependencyUnavailable } from '../errors';

/**
 * Redis connections, to one server (REDIS_URL) or to a Redis Cluster (REDIS_CLUSTER_NODES): the one place that
 * decides which. The API's client fails fast while Redis is away (no offline queue), so requests answer
 * 503 `dependency_unavailable` at once instead of hanging; it keeps reconnecting in the background.
 * BullMQ workers need `maxRetriesPerRequest: null` (blocking commands), so they get their own connection.
 *
 * On a cluster every multi-key command and script must keep its keys in one slot: each store puts a hash tag in its
 * keys (the tenant, the session, the model, `{apikeys}`), and BullMQ's prefix is one (queuePrefix).
 */

/** A connection to the one server or to the cluster: every store and queue takes either. */
export type RedisClient = Redis | Cluster;

const reconnect = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);

/**
 * A cluster's failover (a master dies, its replica is promoted) takes about twice `cluster-node-timeout`. A command
 * caught in it is retried (ioredis: the connection closed, CLUSTERDOWN, TRYAGAIN, MOVED) every ~200 ms up to 16 times,
 * so a failover of a few seconds is ridden through, and a longer one ends in 503 `dependency_unavailable`.
 */
const FAILOVER_RETRIES: ClusterOptions = {
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 300,
  retryDelayOnTryAgain: 200,
  retryDelayOnMoved: 50,
  maxRedirections: 16,
  slotsRefreshTimeout: 2000,
};

/**
 * The options every connection to one target shares: credentials and TLS of a cluster's nodes (one server has them in
 * its URL). Nodes are reached by the names the cluster announces (identity lookup): a certificate names the host, and
 * Redis 7 can announce hostnames (`cluster-announce-hostname`) that only resolve where the client runs.
 */
function clusterOptions(
  target: Extract<RedisTarget, { mode: 'cluster' }>,
  redisOptions: RedisOptions,
  options: ClusterOptions,
): ClusterOptions {
  return {
    dnsLookup: (address, callback) => callback(null, address),
    ...options,
    redisOptions: {
      ...redisOptions,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
  };
}

const seeds = (target: Extract<RedisTarget, { mode: 'cluster' }>) => target.nodes.map(({ host, port }) => ({ host, port }));

/** What a connection does while it is not connected; the same on one server and on a cluster. */
interface ConnectionBehaviour {
  enableOfflineQueue: boolean;
  retryStrategy: (times: number) => number | void | null;
  enableAutoPipelining?: boolean;
  lazyConnect?: boolean;
}

/**
 * One connection to the target: a Cluster (node options per node, `cluster` options for the cluster client) or one
 * server with the node options. Errors are not logged here: state is surfaced through readiness and 503s.
 */
function connect(target: RedisTarget, node: RedisOptions, behaviour: ConnectionBehaviour, cluster: ClusterOptions = {}): RedisClient {
  const { retryStrategy, ...rest } = behaviour;
  // Unset options are left out rather than passed as undefined, which would override ioredis's defaults.
  const common = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  const client: RedisClient =
    target.mode === 'cluster'
      ? new Cluster(seeds(target), clusterOptions(target, node, { ...cluster, ...common, clusterRetryStrategy: retryStrategy }))
      : new Redis(target.url, { ...node, ...common, retryStrategy });
  client.on('error', () => undefined);
  return client;
}

export function createCommandClient(target: RedisTarget, name: string): RedisClient {
  return connect(
    target,
    { connectionName: name, maxRetriesPerRequest: 1, connectTimeout: 5000 },
    // Commands issued in the same tick share one round trip: a bulk upload or a busy worker issues many at once.
    { enableOfflineQueue: false, enableAutoPipelining: true, retryStrategy: reconnect },
    FAILOVER_RETRIES,
  );
}

export function createWorkerConnection(target: RedisTarget, name: string, extra: RedisOptions = {}): RedisClient {
  const { retryStrategy, lazyConnect, ...nodeOptions } = extra;
  return connect(
    target,
    { connectionName: name, maxRetriesPerRequest: null, ...nodeOptions },
    { enableOfflineQueue: nodeOptions.enableOfflineQueue ?? true, lazyConnect, retryStrategy: retryStrategy ?? reconnect },
    FAILOVER_RETRIES,
  );
}

/** Where Redis is, for messages: the URL without its password, or the cluster's seed nodes. */
export function describeRedis(target: RedisTarget): string {
  return target.mode === 'cluster'
    ? `REDIS_CLUSTER_NODES=${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`
    : `REDIS_URL=${redactUrl(target.url)}`;
}

/**
 * Checked once at startup: without Redis nothing works, so the process says so in one line and exits,
 * rather than printing a stack trace or reconnecting forever. A cluster counts as reachable once a seed node answers
 * and the cluster says every slot is served (ioredis's ready check reads CLUSTER INFO).
 */
export async function assertRedisReachable(target: RedisTarget, timeoutMs = 3000): Promise<void> {
  const probe = connect(
    target,
    { connectTimeout: timeoutMs, maxRetriesPerRequest: 0 },
    { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null },
    { slotsRefreshTimeout: timeoutMs },
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    // A cluster whose slots are not all served never becomes ready: bounded here, past the connect timeout.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs + 1000} ms`)), timeoutMs + 1000);
    });
    await Promise.race([probe.connect().then(() => probe.ping()), deadline]);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RedisUnreachableError(
      target.mode === 'cluster'
        ? `cannot reach the Redis Cluster at ${describeRedis(target)} (${reason}). ` +
            'Check that the nodes run, that the cluster was created (redis-cli --cluster create) and answers "cluster_state:ok", ' +
            'and REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS.'
        : `cannot reach Redis at ${describeRedis(target)} (${reason}). ` +
            'Start one with "redis-server --daemonize yes" (Debian: apt-get install -y redis-server), or set REDIS_URL to a running server.',
    );
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}

/**
 * Waits until a command client is connected. The API's clients fail commands at once while not connected (no
 * offline queue), so a request arriving in the first milliseconds after startup would otherwise answer 503.
 */
export async function waitUntilReady(client: RedisClient, timeoutMs = 5000): Promise<void> {
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

/**
 * ioredis's ways of saying the server is not there right now, and a cluster's ways of saying it is moving: a master
 * failing over answers CLUSTERDOWN or TRYAGAIN, slots move (MOVED, ASK, more redirections than allowed), and the client
 * may fail to refresh its slot map ("Failed to refresh slots cache") or reach no seed node at all.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string; lastNodeError?: unknown };
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    e.name === 'ClusterAllFailedError' ||
    /enableOfflineQueue|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EAI_AGAIN/.test(
      e.message,
    ) ||
    CLUSTER_TRANSIENT.test(e.message) ||
    e.code === 'ECONNREFUSED'
  );
}

/** Replies and client errors of a cluster in motion (failover, resharding), all gone once the cluster settles. */
const CLUSTER_TRANSIENT =
  /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|LOADING|MASTERDOWN) |Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|Cluster is ended/;

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
