import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { LanceDbVectorStore, type LanceDbVectorStoreOptions } from './lancedb-store';
import { TenantPartitionedStore, partitionTableName } from './tenant-partitioned-store';

export type PartitionedLanceDbOptions = Omit<LanceDbVectorStoreOptions, 'tableName'> & {
  /** The index name: the prefix of its tenants' tables (and the name of its pre-partitioning shared table). */
  tableName: string;
  /** See TenantPartitionedStoreOptions.idleCloseMs. */
  idleCloseMs?: number;
};

/**
 * The LanceDB store of one index, one table per tenant (`<index>__t_<hex of tenant>`, see tenant-partitioned-store.ts).
 * Cost, measured against one shared table (2 busy cores, 384 dims, 8 tenants writing 300 chunks of 60 words each at
 * once in batches of 30, then 200 keyword/hybrid searches): ingestion 736 chunks/s against 1,103 (each table commits
 * and compacts on its own, so concurrent tenants no longer share one group commit); search p50 15.4 ms against 18.6,
 * p95 42 against 47 (a tenant's search reads only its own, smaller table).
 */
export function partitionedLanceDbStore(options: PartitionedLanceDbOptions): TenantPartitionedStore {
  const { tableName, idleCloseMs, ...common } = options;
  const tables = async (): Promise<string[]> => {
    await mkdir(options.dir, { recursive: true });
    const connection = await lancedb.connect(options.dir);
    try {
      return await connection.tableNames();
    } finally {
      connection.close();
    }
  };
  const prefix = `${tableName}__t_`;
  // A local LanceDB table is the directory `<name>.lance`: a stat answers "does it exist" without listing every table.
  const exists = (name: string) =>
    stat(join(options.dir, `${name}.lance`)).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
  return new TenantPartitionedStore({
    kind: 'lancedb',
    name: tableName,
    idleCloseMs,
    logger: options.logger,
    openPartition: (tenant) => new LanceDbVectorStore({ ...common, tableName: partitionTableName(tableName, tenant), onlyTenant: tenant }),
    partitionExists: (tenant) => exists(partitionTableName(tableName, tenant)),
    legacyExists: () => exists(tableName),
    openLegacy: () => new LanceDbVectorStore({ ...common, tableName }),
    pingBackend: async () => void (await tables()),
    // Any one partition tells: every partition of an index is created with the same recorded model, size and layout.
    checkIdentity: async () => {
      const first = (await tables()).find((name) => name.startsWith(prefix));
      if (first === undefined) return;
      const store = new LanceDbVectorStore({ ...common, tableName: first });
      try {
        await store.init();
      } finally {
        await store.close();
      }
    },
    dropPartitions: async () => {
      const connection = await lancedb.connect(options.dir);
      try {
        for (const name of await connection.tableNames()) if (name.startsWith(prefix)) await connection.dropTable(name);
      } finally {
        connection.close();
      }
    },
  });
}
