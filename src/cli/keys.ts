import { Command } from 'commander';
import { AppError } from '../errors';
import { ConfigError, loadConfig } from '../config';
import { assertRedisReachable, createWorkerConnection, RedisUnreachableError, type RedisClient } from '../infra/redis';
import { KeyStore, type KeyInfo } from '../tenancy/key-store';
import { tenantNameProblem } from '../tenancy/tenant-name';
import { formatTable, out } from './output';

/**
 * `npm run keys -- create --tenant T [--label L] | list [--tenant T] [--json] | revoke ID`: manages the API keys stored
 * hashed in Redis (REDIS_URL or REDIS_CLUSTER_NODES, REDIS_PREFIX as for the service). Every replica honours a change within a second.
 * In the Docker image: `docker compose run --rm api node dist/src/cli/keys.js create --tenant T`.
 * The logic lives in KeyStore; this file only wires commands and prints.
 */

/** The keys as a table (never the keys themselves: only their ids). */
export function formatKeyTable(keys: KeyInfo[]): string {
  if (keys.length === 0) return 'No keys.';
  return formatTable(
    ['ID', 'TENANT', 'LABEL', 'CREATED', 'REVOKED'],
    keys.map((k) => [k.id, k.tenant, k.label ?? '', k.createdAt, k.revokedAt ?? '']),
  );
}

async function withKeyStore<T>(run: (store: KeyStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  await assertRedisReachable(config.redis);
  // A short-lived client that gives up at once instead of reconnecting: a CLI should fail, not hang.
  const redis: RedisClient = createWorkerConnection(config.redis, 'ragmem-keys-cli', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  await redis.connect();
  try {
    return await run(new KeyStore(redis, config.redisPrefix));
  } finally {
    redis.disconnect();
  }
}

function checkTenant(tenant: string | undefined) {
  const problem = tenant === undefined ? undefined : tenantNameProblem(tenant);
  if (problem) throw new AppError('invalid_request', problem);
}

export function keysProgram(): Command {
  const program = new Command('keys').description('Manage ragmem API keys stored (hashed) in Redis').showHelpAfterError();
  program
    .command('create')
    .description('create a key for a tenant; the key is shown once')
    .requiredOption('--tenant <tenant>', 'the tenant the key opens')
    .option('--label <label>', 'a note for list (who or what holds the key)')
    .action(async (opts: { tenant: string; label?: string }) => {
      checkTenant(opts.tenant);
      const created = await withKeyStore((store) => store.create(opts.tenant, opts.label));
      out(`Created key ${created.id} for tenant ${created.tenant}${created.label ? ` (${created.label})` : ''}:`);
      out();
      out(`  ${created.key}`);
      out();
      out('Store it now: it is shown only this once (only its SHA-256 is kept). Send it as "Authorization: Bearer <key>".');
    });
  program
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      checkTenant(opts.tenant);
      const keys = await withKeyStore((store) => store.list(opts.tenant));
      out(opts.json ? JSON.stringify(keys, null, 2) : formatKeyTable(keys));
    });
  program
    .command('revoke')
    .description('revoke a key by its id; every replica refuses it within a second')
    .argument('<id>', 'the key id (from create or list)')
    .action(async (id: string) => {
      const revoked = await withKeyStore((store) => store.revoke(id));
      if (!revoked) throw new AppError('not_found', `no key has the id ${JSON.stringify(id)}`);
      out(`Revoked key ${revoked.id} of tenant ${revoked.tenant} at ${revoked.revokedAt}.`);
    });
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await keysProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof AppError || err instanceof ConfigError || err instanceof RedisUnreachableError) {
      process.stderr.write(`keys: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

if (require.main === module) void main(process.argv);
