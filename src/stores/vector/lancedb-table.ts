import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as lancedb from '@lancedb/lancedb';
import { AppError } from '../../errors';
import { MAX_KEYWORD_TOKEN_LENGTH } from '../../core/keywords/keyword-tokenizer';
import {
  FTS_COLUMN,
  LAYOUT_VERSION,
  META_DIMENSIONS,
  META_LAYOUT,
  META_MODEL,
  META_UNIT_VECTORS,
  findIndexes,
  tableSchema,
} from './lancedb-layout';

/**
 * Opening a ragmem LanceDB table: created with its indexes on first use, safely when several processes start at once,
 * and refused when it records another embedding model, size or layout.
 */

/** Creating a table and its index takes well under a second; a lock this old was left by a crashed process. */
const CREATE_LOCK_STALE_MS = 30_000;

/** Which table, and what it must hold. */
export interface TableTarget {
  dir: string;
  tableName: string;
  dimensions: number;
  embeddingModel: string;
  /** How stale a read may be with respect to other processes' writes (0: checked on every read). */
  readConsistencySeconds: number;
  session?: lancedb.Session;
}

export interface OpenedTable {
  connection: lancedb.Connection;
  table: lancedb.Table;
  ftsIndexName: string;
  /** 'dot' when the table stores unit vectors (META_UNIT_VECTORS), else 'cosine'. */
  distance: 'dot' | 'cosine';
}

/** Opens the table, creating it and its indexes when missing (under a lock file: see withCreateLock). */
export async function openOrCreateTable(t: TableTarget): Promise<OpenedTable> {
  await mkdir(t.dir, { recursive: true });
  const connection = await lancedb.connect(t.dir, { readConsistencyInterval: t.readConsistencySeconds, session: t.session });
  try {
    // Fast path: the table and its indexes exist (every start but the first).
    const existing = await openExisting(t, connection);
    const indexes = existing && (await findIndexes(existing));
    if (existing && indexes?.fullText && indexes.missingScalar.length === 0) {
      return { connection, table: existing, ftsIndexName: indexes.fullText, distance: await checkRecordedEmbedding(t, existing) };
    }
    const { table, ftsIndexName, distance } = await withCreateLock(t, async () => {
      const created =
        (await openExisting(t, connection)) ??
        (await connection.createEmptyTable(t.tableName, tableSchema(t.dimensions, t.embeddingModel), { mode: 'create', existOk: true }));
      const checked = await checkRecordedEmbedding(t, created);
      return { table: created, ftsIndexName: await ensureIndexes(created), distance: checked };
    });
    return { connection, table, ftsIndexName, distance };
  } catch (err) {
    connection.close();
    throw err;
  }
}

async function openExisting(t: TableTarget, connection: lancedb.Connection): Promise<lancedb.Table | undefined> {
  if (!(await connection.tableNames()).includes(t.tableName)) return undefined;
  try {
    return await connection.openTable(t.tableName);
  } catch {
    return undefined; // listed but not committed yet: another process is creating it
  }
}

/**
 * Runs `fn` while holding a lock file in the database directory. Creating a table is not safe to race in LanceDB
 * 0.31: two concurrent creates both commit, the second as an Overwrite (which would drop rows written in between),
 * and the first one's index creation then fails with "CreateIndex transaction is incompatible with concurrent
 * transaction Overwrite" (seen in 2 of 60 rounds of three stores starting together). A lock older than
 * CREATE_LOCK_STALE_MS is taken to be left by a crashed process and removed.
 */
async function withCreateLock<T>(t: TableTarget, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(t.dir, `.${t.tableName}.create.lock`);
  const deadline = Date.now() + 2 * CREATE_LOCK_STALE_MS;
  for (;;) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lockPath).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age > CREATE_LOCK_STALE_MS) await rm(lockPath, { force: true });
      else if (Date.now() > deadline) throw new Error(`LanceDbVectorStore: timed out waiting for ${lockPath}`, { cause: err });
      else await sleep(25);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/** Vectors from two models (or two sizes) must never share a table: their distances would be meaningless. */
async function checkRecordedEmbedding(t: TableTarget, table: lancedb.Table): Promise<'dot' | 'cosine'> {
  const schema = await table.schema();
  const recorded = {
    dimensions: schema.metadata.get(META_DIMENSIONS),
    embeddingModel: schema.metadata.get(META_MODEL),
    layout: schema.metadata.get(META_LAYOUT),
  };
  const wanted = { dimensions: String(t.dimensions), embeddingModel: t.embeddingModel, layout: LAYOUT_VERSION };
  if (recorded.dimensions !== wanted.dimensions || recorded.embeddingModel !== wanted.embeddingModel || recorded.layout !== wanted.layout) {
    throw new AppError(
      'embedding_mismatch',
      `LanceDB table ${t.tableName} in ${t.dir} holds ${recorded.dimensions ?? '?'}-dimension vectors from model ` +
        `${JSON.stringify(recorded.embeddingModel ?? '?')} (layout ${recorded.layout ?? '?'}), but this service is configured for ` +
        `${wanted.dimensions} dimensions from ${JSON.stringify(wanted.embeddingModel)} (layout ${wanted.layout}). ` +
        'Use another directory or table name, or re-index into a new table.',
      { recorded, configured: wanted, dir: t.dir, table: t.tableName },
      { retryable: false },
    );
  }
  return schema.metadata.get(META_UNIT_VECTORS) === '1' ? 'dot' : 'cosine';
}

/**
 * Creates the missing indexes (called under the create lock, so two processes never race) and returns the full-text
 * index's name:
 * - the full-text index on `keywords`;
 * - the scalar indexes of SCALAR_INDEXES (a table created by an older version gets them on the first start of this
 *   one). Cost: one scan of each column, ~20 ms at 11k rows; new rows are folded in by optimize().
 */
async function ensureIndexes(table: lancedb.Table): Promise<string> {
  const found = await findIndexes(table);
  const fullText = found.fullText ?? (await createFullTextIndex(table));
  for (const index of found.missingScalar) await table.createIndex(index.column, { replace: false, config: index.config() });
  return fullText;
}

/** Creates the full-text index on `keywords`; returns its name. */
async function createFullTextIndex(table: lancedb.Table): Promise<string> {
  await table.createIndex(FTS_COLUMN, {
    replace: false,
    config: lancedb.Index.fts({
      // Our tokenizer already folded, filtered and stemmed: the index must only split on the spaces we put.
      baseTokenizer: 'whitespace',
      lowercase: false,
      stem: false,
      removeStopWords: false,
      asciiFolding: false,
      // Tantivy counts bytes: 4 bytes per character so it keeps every token keywordTokens keeps.
      maxTokenLength: MAX_KEYWORD_TOKEN_LENGTH * 4,
      withPosition: false,
    }),
  });
  const created = (await findIndexes(table)).fullText;
  if (!created) throw new Error(`LanceDB did not create the full-text index on ${FTS_COLUMN}`);
  return created;
}
