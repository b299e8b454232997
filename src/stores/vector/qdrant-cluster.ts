import type { Schemas } from '@qdrant/js-client-rest' with { 'resolution-mode': 'import' };

/**
 * How the Qdrant store behaves on a distributed Qdrant (several peers): how its collections are laid out across peers
 * (set once, at creation) and which consistency its writes and reads ask for. Every field is optional: unset, the
 * request carries nothing and Qdrant's own defaults apply, which are right for one node.
 *
 * - `shardNumber`, `replicationFactor`, `writeConsistencyFactor`: sent with the collection's creation only. Qdrant
 *   cannot change the shard number of an existing collection, and ragmem never changes the other two behind an
 *   operator's back: init warns when an existing collection differs from them (see `distributionDrift`).
 * - `writeOrdering`: the `ordering` of every upsert, delete and payload-index creation. Unset, it follows the
 *   collection's own replication factor (see `effectiveWriteOrdering`).
 * - `readConsistency`: the `consistency` of every query, count and scroll. Unset, none is sent (Qdrant reads one
 *   replica, `Factor(1)`).
 */
export interface QdrantClusterOptions {
  shardNumber?: number;
  replicationFactor?: number;
  writeConsistencyFactor?: number;
  writeOrdering?: QdrantWriteOrdering;
  readConsistency?: QdrantReadConsistency;
}

export type QdrantWriteOrdering = Schemas['WriteOrdering'];
export type QdrantReadConsistency = Schemas['ReadConsistency'];

/** Qdrant's CreateCollection takes these as uint32. */
const UINT32_MAX = 2 ** 32 - 1;

/** Throws on a setting Qdrant would refuse (or that cannot hold), naming it; used by the store's constructor. */
export function checkClusterOptions(options: QdrantClusterOptions | undefined): void {
  if (!options) return;
  for (const key of ['shardNumber', 'replicationFactor', 'writeConsistencyFactor'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > UINT32_MAX))
      throw new Error(`QdrantVectorStore: ${key} must be a positive integer, got ${value}`);
  }
  // A write needs this many replicas to acknowledge it: more than exist and every write fails.
  if ((options.writeConsistencyFactor ?? 1) > (options.replicationFactor ?? 1))
    throw new Error('QdrantVectorStore: writeConsistencyFactor must not exceed replicationFactor (unset: 1)');
  const { writeOrdering, readConsistency } = options;
  if (writeOrdering !== undefined && !['weak', 'medium', 'strong'].includes(writeOrdering))
    throw new Error(`QdrantVectorStore: writeOrdering must be weak, medium or strong, got ${String(writeOrdering)}`);
  if (
    readConsistency !== undefined &&
    !(typeof readConsistency === 'number'
      ? Number.isInteger(readConsistency) && readConsistency >= 1
      : ['majority', 'quorum', 'all'].includes(readConsistency))
  )
    throw new Error(
      `QdrantVectorStore: readConsistency must be majority, quorum, all or a positive integer, got ${String(readConsistency)}`,
    );
}

/** The distribution fields of a CreateCollection body: only the ones set, so an unset one stays Qdrant's default. */
export function collectionDistribution(
  options: QdrantClusterOptions | undefined,
): Pick<Schemas['CreateCollection'], 'shard_number' | 'replication_factor' | 'write_consistency_factor'> {
  return {
    ...(options?.shardNumber === undefined ? {} : { shard_number: options.shardNumber }),
    ...(options?.replicationFactor === undefined ? {} : { replication_factor: options.replicationFactor }),
    ...(options?.writeConsistencyFactor === undefined ? {} : { write_consistency_factor: options.writeConsistencyFactor }),
  };
}

/**
 * The `ordering` writes carry. A configured one wins. Unset: `medium` when the collection keeps more than one replica
 * of each shard, else none (Qdrant's `weak`).
 *
 * Why `medium` with replicas: ragmem does send writes that touch the same points from different processes at once (a
 * document re-uploaded while its previous version's job still runs deletes by filter what the other upserts; a
 * document deleted during its ingestion; a stalled job taken over while its first worker still writes). With `weak`,
 * each replica applies concurrent writes in the order they reach it, so two replicas can end different for good (a
 * deleted chunk alive on one of them, found by every search that replica serves). `medium` sends each shard's writes
 * through one leader, its highest alive replica, that applies them one at a time, so every replica sees one order.
 * `strong` pins the leader to one replica even when it is down, so writes fail while that peer is away: it gives up
 * the availability replication is for, and stays an operator's choice.
 *
 * Why nothing on one replica: there is a single copy, so no order can differ, and `medium` would only add the leader's
 * lock, serialising the shard's concurrent upserts.
 */
export function effectiveWriteOrdering(
  options: QdrantClusterOptions | undefined,
  replicationFactor: number,
): QdrantWriteOrdering | undefined {
  return options?.writeOrdering ?? (replicationFactor > 1 ? 'medium' : undefined);
}

/** The collection's replication factor as Qdrant reports it (1, Qdrant's default, when absent). */
export function reportedReplicationFactor(params: Schemas['CollectionParams']): number {
  return params.replication_factor ?? 1;
}

/**
 * Where an existing collection's layout differs from the configured one (a setting applies at creation only), as
 * `setting: configured (collection: reported)` strings for a warning; empty when they agree or nothing is set.
 */
export function distributionDrift(options: QdrantClusterOptions | undefined, params: Schemas['CollectionParams']): string[] {
  const drift: string[] = [];
  const check = (name: string, configured: number | undefined, reported: number | undefined) => {
    if (configured !== undefined && configured !== (reported ?? 1)) drift.push(`${name}: ${configured} (collection: ${reported ?? 1})`);
  };
  check('shard_number', options?.shardNumber, params.shard_number);
  check('replication_factor', options?.replicationFactor, params.replication_factor);
  check('write_consistency_factor', options?.writeConsistencyFactor, params.write_consistency_factor);
  return drift;
}
