import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Int32, List, Schema, Utf8, type Table as ArrowTable } from 'apache-arrow';
import { chunkKeywordText, keywordString } from '../../core/keywords/keyword-tokenizer';
import type { ChunkRecord, MetadataValue, SearchFilter, StoredChunk } from './vector-store';
import { checkChunk, checkInt32, checkString, metaTag, metaTagsOf, scalarFieldsOf } from './chunk-checks';

/**
 * The layout of ragmem's LanceDB tables: columns and recorded settings, rows both ways (chunks in, column-wise decoded
 * results out), the indexes a table carries, and the SQL filters every read and delete goes through.
 */

export const META_DIMENSIONS = 'ragmem.embedding.dimensions';
export const META_MODEL = 'ragmem.embedding.model';
export const META_LAYOUT = 'ragmem.layout';
/**
 * Recorded (as '1') by tables created since vectors are stored L2-normalised. Dense search on such a table uses the
 * dot distance, which then equals cosine distance but skips the per-row norms (measured: ~1.5x faster flat scans).
 * Older tables, whose stored vectors may not be unit length, keep cosine.
 */
export const META_UNIT_VECTORS = 'ragmem.vectors.unit';
/**
 * Scalar indexes on the filter columns that narrow a query most: without them a filter is a scan of the whole table,
 * so a search of one collection, or of one session's memory, would slow down with everything else the table holds.
 * Measured in an 11k-row table of session messages: hybrid search of an empty collection 6.3 -> 1.9 ms with
 * `collection` indexed; a 100-row session's dense search 6.8 -> 2.5 ms with `documentId` indexed. optimize() folds new
 * rows into them and, unlike a vector index, they do not stop compaction. `tenant` is left out: an index on it (BTREE
 * or BITMAP) cost about a quarter of small-document ingestion throughput (its few values have huge row lists to
 * rewrite) and gave searches nothing measurable.
 */
export const SCALAR_INDEXES = [
  { column: 'documentId', config: () => lancedb.Index.btree() },
  { column: 'collection', config: () => lancedb.Index.btree() },
] as const;
/** Bump when the column layout changes, so an old table is refused instead of misread. */
export const LAYOUT_VERSION = '1';
export const FTS_COLUMN = 'keywords';
/** Returned columns: everything but the vector and the derived columns. */
export const CHUNK_COLUMNS = [
  'id',
  'tenant',
  'collection',
  'documentId',
  'documentVersion',
  'chunkIndex',
  'title',
  'text',
  'tokenCount',
  'pages',
  'headingPath',
  'metadata',
];

/** A chunk as a row of the table (vector stored unit length, keywords and metadata tags derived). */
export function toRow(chunk: ChunkRecord, dimensions: number): Record<string, unknown> {
  checkChunk(chunk, dimensions);
  return {
    id: chunk.id,
    ...scalarFieldsOf(chunk),
    pages: chunk.pages,
    headingPath: chunk.headingPath,
    metadata: JSON.stringify(chunk.metadata),
    metaTags: metaTagsOf(chunk.metadata),
    keywords: keywordString(chunkKeywordText(chunk)),
    // Stored unit length, so that dot distance is cosine distance (see META_UNIT_VECTORS). A zero vector stays zero.
    vector: Array.from(unitVector(chunk.vector) ?? chunk.vector),
  };
}

/** The names of our two indexes, from one listing; undefined for a missing one. */
export async function findIndexes(
  table: lancedb.Table,
): Promise<{ fullText?: string; missingScalar: Array<(typeof SCALAR_INDEXES)[number]> }> {
  const indices = await table.listIndices();
  const has = (column: string) => indices.some((index) => index.columns.length === 1 && index.columns[0] === column);
  return {
    fullText: indices.find((index) => index.columns.includes(FTS_COLUMN))?.name,
    missingScalar: SCALAR_INDEXES.filter((index) => !has(index.column)),
  };
}

/** The vector scaled to unit length (in float64, then rounded once), or undefined for a zero vector. */
export function unitVector(vector: Float32Array): Float32Array | undefined {
  let sum = 0;
  for (const value of vector) sum += value * value;
  if (sum === 0) return undefined;
  const norm = Math.sqrt(sum);
  return Float32Array.from(vector, (value) => value / norm);
}

export function tableSchema(dimensions: number, embeddingModel: string): Schema {
  const utf8 = (name: string) => new Field(name, new Utf8(), false);
  const int32 = (name: string) => new Field(name, new Int32(), false);
  const list = (name: string, item: Utf8 | Int32) => new Field(name, new List(new Field('item', item, true)), false);
  return new Schema(
    [
      utf8('id'),
      utf8('tenant'),
      utf8('collection'),
      utf8('documentId'),
      int32('documentVersion'),
      int32('chunkIndex'),
      utf8('title'),
      utf8('text'),
      int32('tokenCount'),
      list('pages', new Int32()),
      list('headingPath', new Utf8()),
      utf8('metadata'),
      list('metaTags', new Utf8()),
      utf8(FTS_COLUMN),
      new Field('vector', new FixedSizeList(dimensions, new Field('item', new Float32(), true)), false),
    ],
    new Map([
      [META_DIMENSIONS, String(dimensions)],
      [META_MODEL, embeddingModel],
      [META_LAYOUT, LAYOUT_VERSION],
      [META_UNIT_VECTORS, '1'],
    ]),
  );
}

/** The SQL filter for a search, or undefined when the filter can match nothing (an empty list of allowed values). */
export function chunkFilter(tenant: string, collection: string, filter: SearchFilter = {}, withTenant = true): string | undefined {
  const parts = [...(withTenant ? [`tenant = ${sqlString(tenant)}`] : []), `collection = ${sqlString(collection)}`];
  if (filter.documentIds !== undefined) {
    if (filter.documentIds.length === 0) return undefined;
    // One id as `=`, which LanceDB's scalar index answers faster than a one-element IN.
    const ids = filter.documentIds.map(sqlString);
    parts.push(ids.length === 1 ? `\`documentId\` = ${ids[0]}` : `\`documentId\` IN (${ids.join(', ')})`);
  }
  for (const [key, wanted] of Object.entries(filter.metadata ?? {})) {
    const values = Array.isArray(wanted) ? wanted : [wanted];
    if (values.length === 0) return undefined;
    parts.push(`array_has_any(\`metaTags\`, [${values.map((value) => sqlString(metaTag(key, value))).join(', ')}])`);
  }
  return parts.join(' AND ');
}

/** A SQL string literal. DataFusion treats backslashes literally; a single quote is the only character to escape. */
export function sqlString(value: string): string {
  return `'${checkString(value).replaceAll("'", "''")}'`;
}

/** An int32 for a SQL filter; anything else (NaN, 1.5, "1; drop") is refused rather than interpolated. */
export function sqlInt(value: number, what: string): string {
  return String(checkInt32(value, what));
}

/**
 * Results read column by column: Arrow's row proxies (`toArray()`) resolve every field through a visitor, and under 32
 * asking clients that decoding was the API's largest single cost (about 10% of its main thread).
 */
export function storedChunksOf(table: ArrowTable): StoredChunk[] {
  // An empty answer comes without a schema.
  if (table.numRows === 0) return [];
  const strings = (name: string) => columnOf(table, name).toArray() as unknown as string[];
  const [ids, tenants, collections, documentIds, titles, texts, metadata] = [
    'id',
    'tenant',
    'collection',
    'documentId',
    'title',
    'text',
    'metadata',
  ].map(strings);
  const [versions, indexes, tokenCounts] = ['documentVersion', 'chunkIndex', 'tokenCount'].map((name) => numbersOf(table, name));
  const pages = columnOf(table, 'pages');
  const headingPaths = columnOf(table, 'headingPath');
  return Array.from({ length: table.numRows }, (_, i) => ({
    id: ids[i],
    tenant: tenants[i],
    collection: collections[i],
    documentId: documentIds[i],
    documentVersion: versions[i],
    chunkIndex: indexes[i],
    title: titles[i],
    text: texts[i],
    tokenCount: tokenCounts[i],
    pages: Array.from((pages.get(i) ?? []) as Iterable<number>, Number),
    headingPath: Array.from((headingPaths.get(i) ?? []) as Iterable<string>, String),
    metadata: JSON.parse(metadata[i]) as Record<string, MetadataValue>,
  }));
}

function columnOf(table: ArrowTable, name: string) {
  const column = table.getChild(name);
  if (!column) throw new Error(`LanceDB answered without the ${name} column`);
  return column;
}

/** Hits read as (documentId, chunkIndex) only (see VectorStore.searchPositions). */
export function positionsOf(table: ArrowTable): Array<{ documentId: string; chunkIndex: number }> {
  if (table.numRows === 0) return [];
  const documentIds = columnOf(table, 'documentId').toArray() as unknown as string[];
  const indexes = numbersOf(table, 'chunkIndex');
  return Array.from({ length: table.numRows }, (_, i) => ({ documentId: documentIds[i], chunkIndex: indexes[i] }));
}

export const numbersOf = (table: ArrowTable, name: string): number[] =>
  table.numRows === 0 ? [] : Array.from(columnOf(table, name).toArray() as ArrayLike<number | bigint>, Number);
