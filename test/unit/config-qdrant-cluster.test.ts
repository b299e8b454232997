import { ConfigError, loadConfig } from '../../src/config';

/** The distributed-Qdrant settings (see src/stores/vector/qdrant-cluster.ts): parsed once, refused at boot naming the variable. */
const QDRANT = { QDRANT_URL: 'http://qdrant:6333' };

const qdrantVector = (env: Record<string, string>) => {
  const { vector } = loadConfig({ ...QDRANT, ...env });
  if (vector.backend !== 'qdrant') throw new Error('expected the Qdrant backend');
  return vector;
};

const refusal = (env: Record<string, string>): string => {
  try {
    loadConfig({ ...QDRANT, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
};

describe('Qdrant cluster settings', () => {
  it('When none is set, then every one is left undefined (the requests leave them to Qdrant, right for one node)', () => {
    // toEqual passes over undefined fields: every cluster field is undefined, none holds a default of its own.
    expect(qdrantVector({})).toEqual({ backend: 'qdrant', url: 'http://qdrant:6333' });
  });

  it('When they are set, then they are parsed: counts as integers, the read consistency as a word or a number of replicas', () => {
    expect(
      qdrantVector({
        QDRANT_SHARD_NUMBER: '6',
        QDRANT_REPLICATION_FACTOR: '3',
        QDRANT_WRITE_CONSISTENCY_FACTOR: '2',
        QDRANT_WRITE_ORDERING: 'strong',
        QDRANT_READ_CONSISTENCY: 'quorum',
      }),
    ).toMatchObject({
      shardNumber: 6,
      replicationFactor: 3,
      writeConsistencyFactor: 2,
      writeOrdering: 'strong',
      readConsistency: 'quorum',
    });
    expect(qdrantVector({ QDRANT_READ_CONSISTENCY: '2' }).readConsistency).toBe(2);
    expect(qdrantVector({ QDRANT_READ_CONSISTENCY: 'all' }).readConsistency).toBe('all');
    // Empty means unset, as for every variable (compose files pass `${VAR:-}` through).
    expect(qdrantVector({ QDRANT_REPLICATION_FACTOR: '', QDRANT_READ_CONSISTENCY: '' })).toEqual({
      backend: 'qdrant',
      url: 'http://qdrant:6333',
    });
  });

  it.each([
    [{ QDRANT_SHARD_NUMBER: '0' }, /QDRANT_SHARD_NUMBER/],
    [{ QDRANT_REPLICATION_FACTOR: 'two' }, /QDRANT_REPLICATION_FACTOR/],
    [{ QDRANT_WRITE_CONSISTENCY_FACTOR: '1.5' }, /QDRANT_WRITE_CONSISTENCY_FACTOR/],
    [{ QDRANT_WRITE_ORDERING: 'fast' }, /QDRANT_WRITE_ORDERING/],
    [{ QDRANT_READ_CONSISTENCY: 'most' }, /QDRANT_READ_CONSISTENCY: expected majority, quorum, all or a positive integer, got "most"/],
    [{ QDRANT_READ_CONSISTENCY: '0' }, /QDRANT_READ_CONSISTENCY/],
    [
      { QDRANT_REPLICATION_FACTOR: '2', QDRANT_WRITE_CONSISTENCY_FACTOR: '3' },
      /QDRANT_WRITE_CONSISTENCY_FACTOR \(3\) must not exceed QDRANT_REPLICATION_FACTOR \(2\)/,
    ],
    [
      { QDRANT_WRITE_CONSISTENCY_FACTOR: '2' },
      /QDRANT_WRITE_CONSISTENCY_FACTOR \(2\) must not exceed QDRANT_REPLICATION_FACTOR \(unset: 1\)/,
    ],
  ])('When %j, then startup is refused naming the variable', (env, message) => {
    expect(refusal(env)).toMatch(message);
  });
});
