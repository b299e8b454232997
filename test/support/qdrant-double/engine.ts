/**
 * In-memory Qdrant semantics: collections, aliases, payload indexes, points, filters, Query API scoring.
 * Every public method takes already schema-validated request bodies and throws HttpError the way Qdrant answers.
 */
import { andFilters, checkFilter, compareIds, getValues, idKey, normalizeId, type Payload, type PointId } from './filter';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** true when the failure is a limitation of the double rather than something real Qdrant would say */
    readonly unsupported = false,
  ) {
    super(message);
  }
}

const unsupported = (what: string): HttpError => new HttpError(501, `Not supported by the Qdrant test double: ${what}`, true);

type Distance = 'Cosine' | 'Euclid' | 'Dot' | 'Manhattan';
interface DenseConfig {
  size: number;
  distance: Distance;
  raw: Record<string, unknown>;
}
interface SparseConfig {
  modifier: string | null;
  raw: Record<string, unknown>;
}
interface SparseVector {
  indices: number[];
  values: number[];
}
type StoredVector = number[] | SparseVector;

interface StoredPoint {
  id: PointId;
  payload: Payload;
  vectors: Record<string, StoredVector>;
  version: number;
}

interface IndexInfo {
  data_type: string;
  params?: Record<string, unknown>;
}

interface Collection {
  name: string;
  /** true when created with a single unnamed vector (`vectors: {size, distance}`), stored under "" */
  singleVector: boolean;
  dense: Record<string, DenseConfig>;
  sparse: Record<string, SparseConfig>;
  points: Map<string, StoredPoint>;
  payloadSchema: Record<string, IndexInfo>;
  operationCounter: number;
  createBody: Record<string, unknown>;
  /** collection metadata (Qdrant >= 1.16), reported as config.metadata */
  metadata?: Record<string, unknown>;
}

interface Scored {
  point: StoredPoint;
  score: number;
}

type Body = Record<string, unknown>;
type Filter = Record<string, unknown> | null | undefined;

const RRF_DEFAULT_K = 2; // qdrant lib/segment/src/common/reciprocal_rank_fusion.rs DEFAULT_RRF_K

function notFoundCollection(name: string): HttpError {
  return new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
}

function isSparse(v: unknown): v is SparseVector {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'indices' in v && 'values' in v;
}

/** Qdrant's Document / Image / InferenceObject all carry a `model` next to text/image/object. */
function isInferenceInput(v: object): boolean {
  return 'model' in v && ('text' in v || 'image' in v || 'object' in v);
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

function normalize(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm === 0 ? v.slice() : v.map((x) => x / norm);
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Qdrant's fancy_idf: ln((n - df + 0.5) / (df + 0.5) + 1). */
export function qdrantIdf(n: number, df: number): number {
  return Math.log((n - df + 0.5) / (df + 0.5) + 1);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function deletePath(target: Record<string, unknown>, path: string): void {
  const parts = path.split('.');
  let cur: unknown = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur !== 'object' || cur === null) return;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (typeof cur === 'object' && cur !== null) delete (cur as Record<string, unknown>)[parts[parts.length - 1]];
}

function selectPayload(payload: Payload, selector: unknown, dflt: boolean): Payload | undefined {
  const sel = selector === undefined || selector === null ? dflt : selector;
  if (sel === true) return clone(payload);
  if (sel === false) return undefined;
  let include: string[] | undefined;
  let exclude: string[] | undefined;
  if (Array.isArray(sel)) include = sel as string[];
  else if (typeof sel === 'object' && sel !== null) {
    if ('include' in sel) include = (sel as { include: string[] }).include;
    if ('exclude' in sel) exclude = (sel as { exclude: string[] }).exclude;
  }
  if (include) {
    const out: Payload = {};
    for (const key of include) {
      const values = getValues(payload, key);
      if (values.length > 0) setPath(out, key, clone(values[0]));
    }
    return out;
  }
  const out = clone(payload);
  for (const key of exclude ?? []) deletePath(out, key);
  return out;
}

export class QdrantEngine {
  private collections = new Map<string, Collection>();
  private aliases = new Map<string, string>();

  reset(): void {
    this.collections.clear();
    this.aliases.clear();
  }

  // ---------------------------------------------------------------- collections

  private resolve(name: string): Collection {
    const direct = this.collections.get(name);
    if (direct) return direct;
    const target = this.aliases.get(name);
    const viaAlias = target !== undefined ? this.collections.get(target) : undefined;
    if (!viaAlias) throw notFoundCollection(name);
    return viaAlias;
  }

  createCollection(name: string, body: Body): boolean {
    if (this.collections.has(name)) throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
    if (this.aliases.has(name)) throw new HttpError(409, `Wrong input: Alias with name \`${name}\` already exists!`);
    if (body.init_from) throw unsupported('init_from');
    const dense: Record<string, DenseConfig> = {};
    let singleVector = false;
    const vectors = body.vectors as Record<string, unknown> | undefined;
    if (vectors && typeof vectors.size === 'number' && typeof vectors.distance === 'string') {
      singleVector = true;
      dense[''] = { size: vectors.size, distance: vectors.distance as Distance, raw: vectors };
    } else if (vectors) {
      for (const [vname, cfg] of Object.entries(vectors as Record<string, Record<string, unknown>>)) {
        if (cfg.multivector_config) throw unsupported('multivector_config');
        dense[vname] = { size: cfg.size as number, distance: cfg.distance as Distance, raw: cfg };
      }
    }
    const sparse: Record<string, SparseConfig> = {};
    for (const [vname, cfg] of Object.entries((body.sparse_vectors as Record<string, Record<string, unknown>> | null) ?? {})) {
      if (dense[vname]) throw new HttpError(400, `Wrong input: Vector name \`${vname}\` is used by both dense and sparse vectors`);
      sparse[vname] = { modifier: (cfg?.modifier as string | null | undefined) ?? null, raw: cfg ?? {} };
    }
    this.collections.set(name, {
      name,
      singleVector,
      dense,
      sparse,
      points: new Map(),
      payloadSchema: {},
      operationCounter: 0,
      createBody: body,
      metadata: body.metadata ? clone(body.metadata as Record<string, unknown>) : undefined,
    });
    return true;
  }

  /** PATCH /collections/{name}: only `metadata` has an effect here (merged into the existing one, as Qdrant does). */
  updateCollection(name: string, body: Body): boolean {
    const col = this.resolve(name);
    if (body.metadata) col.metadata = { ...(col.metadata ?? {}), ...clone(body.metadata as Record<string, unknown>) };
    for (const [vname, cfg] of Object.entries((body.sparse_vectors as Record<string, Record<string, unknown>> | null) ?? {})) {
      const existing = col.sparse[vname];
      if (!existing) throw new HttpError(400, `Wrong input: Not existing vector name error: ${vname}`);
      if (cfg && 'modifier' in cfg) {
        existing.modifier = (cfg.modifier as string | null) ?? null;
        existing.raw = { ...existing.raw, modifier: cfg.modifier };
      }
    }
    return true;
  }

  deleteCollection(name: string): boolean {
    const col = this.collections.get(name) ?? (this.aliases.has(name) ? this.collections.get(this.aliases.get(name)!) : undefined);
    if (!col) return false;
    this.collections.delete(col.name);
    for (const [alias, target] of [...this.aliases]) if (target === col.name) this.aliases.delete(alias);
    return true;
  }

  collectionExists(name: string): { exists: boolean } {
    return { exists: this.collections.has(name) || (this.aliases.has(name) && this.collections.has(this.aliases.get(name)!)) };
  }

  listCollections(): { collections: Array<{ name: string }> } {
    return { collections: [...this.collections.keys()].map((name) => ({ name })) };
  }

  collectionInfo(name: string): Record<string, unknown> {
    const col = this.resolve(name);
    const vectors = col.singleVector
      ? clone(col.dense[''].raw)
      : Object.fromEntries(Object.entries(col.dense).map(([k, v]) => [k, clone(v.raw)]));
    const params: Record<string, unknown> = {
      vectors,
      shard_number: (col.createBody.shard_number as number | undefined) ?? 1,
      replication_factor: (col.createBody.replication_factor as number | undefined) ?? 1,
      write_consistency_factor: (col.createBody.write_consistency_factor as number | undefined) ?? 1,
      on_disk_payload: (col.createBody.on_disk_payload as boolean | undefined) ?? true,
    };
    if (Object.keys(col.sparse).length > 0) {
      params.sparse_vectors = Object.fromEntries(Object.entries(col.sparse).map(([k, v]) => [k, clone(v.raw)]));
    }
    const payload_schema: Record<string, unknown> = {};
    for (const [field, info] of Object.entries(col.payloadSchema)) {
      let count = 0;
      for (const p of col.points.values()) if (getValues(p.payload, field).some((v) => v !== null)) count++;
      payload_schema[field] = { ...clone(info), points: count };
    }
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: col.points.size,
      segments_count: 1,
      config: {
        params,
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: {
          deleted_threshold: 0.2,
          vacuum_min_vector_number: 1000,
          default_segment_number: 0,
          max_segment_size: null,
          memmap_threshold: null,
          indexing_threshold: 10000,
          flush_interval_sec: 5,
          max_optimization_threads: null,
        },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: null,
        strict_mode_config: { enabled: false },
        ...(col.metadata ? { metadata: clone(col.metadata) } : {}),
      },
      payload_schema,
    };
  }

  // ---------------------------------------------------------------- aliases

  changeAliases(body: Body): boolean {
    const next = new Map(this.aliases);
    for (const action of body.actions as Array<Record<string, Record<string, string>>>) {
      if (action.create_alias) {
        const { collection_name, alias_name } = action.create_alias;
        if (!this.collections.has(collection_name)) throw notFoundCollection(collection_name);
        if (this.collections.has(alias_name)) throw new HttpError(409, `Wrong input: Collection \`${alias_name}\` already exists!`);
        next.set(alias_name, collection_name);
      } else if (action.delete_alias) {
        const { alias_name } = action.delete_alias;
        if (!next.has(alias_name)) throw new HttpError(404, `Not found: Alias ${alias_name} does not exists!`);
        next.delete(alias_name);
      } else if (action.rename_alias) {
        const { old_alias_name, new_alias_name } = action.rename_alias;
        const target = next.get(old_alias_name);
        if (target === undefined) throw new HttpError(404, `Not found: Alias ${old_alias_name} does not exists!`);
        next.delete(old_alias_name);
        next.set(new_alias_name, target);
      }
    }
    this.aliases = next; // all or nothing
    return true;
  }

  listAliases(collection?: string): { aliases: Array<{ alias_name: string; collection_name: string }> } {
    let target: string | undefined;
    if (collection !== undefined) target = this.resolve(collection).name;
    return {
      aliases: [...this.aliases]
        .filter(([, c]) => target === undefined || c === target)
        .map(([alias_name, collection_name]) => ({ alias_name, collection_name })),
    };
  }

  // ---------------------------------------------------------------- payload indexes

  createIndex(name: string, body: Body, wait: boolean): Record<string, unknown> {
    const col = this.resolve(name);
    const schema = body.field_schema as string | Record<string, unknown> | null | undefined;
    if (schema === undefined || schema === null) {
      throw new HttpError(400, `Bad request: Can't auto-detect field type for ${String(body.field_name)}, please specify field_schema`);
    }
    col.payloadSchema[body.field_name as string] =
      typeof schema === 'string' ? { data_type: schema } : { data_type: schema.type as string, params: clone(schema) };
    return this.ack(col, wait);
  }

  deleteIndex(name: string, field: string, wait: boolean): Record<string, unknown> {
    const col = this.resolve(name);
    delete col.payloadSchema[field];
    return this.ack(col, wait);
  }

  private ack(col: Collection, wait: boolean): Record<string, unknown> {
    const operation_id = col.operationCounter++;
    return { operation_id, status: wait ? 'completed' : 'acknowledged' };
  }

  // ---------------------------------------------------------------- points

  private checkVectors(col: Collection, raw: unknown, where: string): Record<string, StoredVector> {
    let named: Record<string, unknown>;
    if (isNumberArray(raw)) named = { '': raw };
    else if (Array.isArray(raw)) throw unsupported('multivectors');
    else if (typeof raw === 'object' && raw !== null && !isInferenceInput(raw)) named = raw as Record<string, unknown>;
    else throw unsupported('inference inputs (document/image/object)');
    const out: Record<string, StoredVector> = {};
    for (const [vname, v] of Object.entries(named)) {
      const dense = col.dense[vname];
      const sparse = col.sparse[vname];
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && isInferenceInput(v))
        throw unsupported('inference inputs (document/image/object)');
      if (dense) {
        if (!isNumberArray(v)) throw new HttpError(400, `Wrong input: Conversion between sparse and regular vectors failed`);
        if (v.length !== dense.size) {
          throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${dense.size}, got ${v.length}`);
        }
        out[vname] = dense.distance === 'Cosine' ? normalize(v) : v.slice();
      } else if (sparse) {
        if (!isSparse(v)) throw new HttpError(400, `Wrong input: Conversion between sparse and regular vectors failed`);
        if (v.indices.length !== v.values.length) {
          throw new HttpError(422, `Validation error in JSON body: [${where}.vector.${vname}.values: must be the same length as indices]`);
        }
        if (new Set(v.indices).size !== v.indices.length) {
          throw new HttpError(422, `Validation error in JSON body: [${where}.vector.${vname}.indices: must be unique]`);
        }
        // Qdrant keeps sparse vectors sorted by index.
        const order = v.indices.map((_, i) => i).sort((a, b) => v.indices[a] - v.indices[b]);
        out[vname] = { indices: order.map((i) => v.indices[i]), values: order.map((i) => v.values[i]) };
      } else {
        throw new HttpError(400, `Wrong input: Not existing vector name error: ${vname}`);
      }
    }
    return out;
  }

  upsert(name: string, body: Body, wait: boolean): Record<string, unknown> {
    const col = this.resolve(name);
    const incoming: Array<{ id: PointId; vectors: Record<string, StoredVector>; payload: Payload }> = [];
    if (Array.isArray(body.points)) {
      (body.points as Body[]).forEach((p, i) => {
        incoming.push({
          id: normalizeId(p.id),
          vectors: this.checkVectors(col, p.vector, `points[${i}]`),
          payload: clone((p.payload as Payload | null | undefined) ?? {}),
        });
      });
    } else {
      const batch = body.batch as { ids: unknown[]; vectors: unknown; payloads?: Array<Payload | null> | null };
      const n = batch.ids.length;
      const perPoint: Array<Record<string, unknown>> = batch.ids.map(() => ({}));
      if (Array.isArray(batch.vectors)) {
        if (batch.vectors.length !== n) throw new HttpError(400, `Wrong input: number of ids and vectors must be equal`);
        batch.vectors.forEach((v, i) => (perPoint[i][''] = v));
      } else {
        for (const [vname, list] of Object.entries(batch.vectors as Record<string, unknown[]>)) {
          if (list.length !== n) throw new HttpError(400, `Wrong input: number of ids and vectors must be equal`);
          list.forEach((v, i) => (perPoint[i][vname] = v));
        }
      }
      if (batch.payloads && batch.payloads.length !== n) throw new HttpError(400, `Wrong input: number of ids and payloads must be equal`);
      batch.ids.forEach((id, i) => {
        incoming.push({
          id: normalizeId(id),
          vectors: this.checkVectors(col, perPoint[i], `batch[${i}]`),
          payload: clone(batch.payloads?.[i] ?? {}),
        });
      });
    }
    const mode = (body.update_mode as string | null | undefined) ?? 'upsert';
    const updateFilter = body.update_filter as Filter;
    const op = this.ack(col, wait);
    for (const p of incoming) {
      const key = idKey(p.id);
      const existing = col.points.get(key);
      if (existing && mode === 'insert_only') continue;
      if (!existing && mode === 'update_only') continue;
      if (existing && updateFilter && !checkFilter(updateFilter, existing)) continue;
      col.points.set(key, { ...p, version: op.operation_id as number });
    }
    return op;
  }

  private selectPoints(col: Collection, body: Body): StoredPoint[] {
    if (Array.isArray(body.points)) {
      return (body.points as unknown[]).map((id) => col.points.get(idKey(id))).filter((p): p is StoredPoint => !!p);
    }
    return [...col.points.values()].filter((p) => checkFilter(body.filter as Filter, p));
  }

  deletePoints(name: string, body: Body, wait: boolean): Record<string, unknown> {
    const col = this.resolve(name);
    const victims = this.selectPoints(col, body);
    for (const p of victims) col.points.delete(idKey(p.id));
    return this.ack(col, wait);
  }

  setPayload(name: string, body: Body, wait: boolean, overwrite: boolean): Record<string, unknown> {
    const col = this.resolve(name);
    if (body.points == null && body.filter == null) throw new HttpError(400, 'Bad request: Either `points` or `filter` is required');
    const targets = this.selectPoints(col, body);
    const op = this.ack(col, wait);
    for (const p of targets) {
      if (typeof body.key === 'string') {
        if (overwrite) throw unsupported('overwrite payload with key');
        const values = getValues(p.payload, body.key);
        const holder = values[0];
        if (typeof holder === 'object' && holder !== null && !Array.isArray(holder)) Object.assign(holder, clone(body.payload));
        else setPath(p.payload, body.key, clone(body.payload));
      } else if (overwrite) p.payload = clone(body.payload as Payload);
      else Object.assign(p.payload, clone(body.payload as Payload));
      p.version = op.operation_id as number;
    }
    return op;
  }

  deletePayload(name: string, body: Body, wait: boolean): Record<string, unknown> {
    const col = this.resolve(name);
    const targets = this.selectPoints(col, body);
    const op = this.ack(col, wait);
    for (const p of targets) {
      for (const key of body.keys as string[]) deletePath(p.payload, key);
      p.version = op.operation_id as number;
    }
    return op;
  }

  clearPayload(name: string, body: Body, wait: boolean): Record<string, unknown> {
    const col = this.resolve(name);
    const targets = this.selectPoints(col, body);
    const op = this.ack(col, wait);
    for (const p of targets) {
      p.payload = {};
      p.version = op.operation_id as number;
    }
    return op;
  }

  count(name: string, body: Body): { count: number } {
    const col = this.resolve(name);
    return { count: [...col.points.values()].filter((p) => checkFilter(body.filter as Filter, p)).length };
  }

  private vectorOutput(col: Collection, p: StoredPoint, selector: unknown): unknown {
    if (selector === undefined || selector === null || selector === false) return undefined;
    const names = selector === true ? Object.keys(p.vectors) : (selector as string[]);
    if (col.singleVector && names.includes('')) return clone(p.vectors['']);
    const out: Record<string, unknown> = {};
    for (const n of names) if (p.vectors[n] !== undefined) out[n] = clone(p.vectors[n]);
    return out;
  }

  private record(
    col: Collection,
    p: StoredPoint,
    withPayload: unknown,
    payloadDefault: boolean,
    withVector: unknown,
  ): Record<string, unknown> {
    const rec: Record<string, unknown> = { id: p.id };
    const payload = selectPayload(p.payload, withPayload, payloadDefault);
    rec.payload = payload ?? null;
    const vector = this.vectorOutput(col, p, withVector);
    rec.vector = vector ?? null;
    return rec;
  }

  retrieve(name: string, body: Body): unknown[] {
    const col = this.resolve(name);
    const seen = new Set<string>();
    const out: unknown[] = [];
    for (const id of body.ids as unknown[]) {
      const key = idKey(id);
      const p = col.points.get(key);
      if (!p || seen.has(key)) continue;
      seen.add(key);
      out.push(this.record(col, p, body.with_payload, true, body.with_vector));
    }
    return out;
  }

  getPoint(name: string, rawId: string): unknown {
    const col = this.resolve(name);
    const id = /^\d+$/.test(rawId) ? Number(rawId) : rawId;
    const p = col.points.get(idKey(id));
    if (!p) throw new HttpError(404, `Not found: No point with id ${String(normalizeId(id))} found`);
    return this.record(col, p, true, true, true);
  }

  scroll(name: string, body: Body): { points: unknown[]; next_page_offset: PointId | null } {
    const col = this.resolve(name);
    const limit = (body.limit as number | null | undefined) ?? 10;
    let matching = [...col.points.values()].filter((p) => checkFilter(body.filter as Filter, p));
    const orderBy = body.order_by as string | { key: string; direction?: string | null; start_from?: unknown } | null | undefined;
    if (orderBy !== undefined && orderBy !== null) {
      const spec = typeof orderBy === 'string' ? { key: orderBy } : orderBy;
      const index = col.payloadSchema[spec.key];
      if (!index || !['integer', 'float', 'datetime'].includes(index.data_type)) {
        throw new HttpError(
          400,
          `Bad request: No range index for \`order_by\` key: \`${spec.key}\`. Please create one to use \`order_by\`. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload schemas support Range conditions`,
        );
      }
      if (body.offset !== undefined && body.offset !== null) {
        throw new HttpError(
          400,
          "Bad request: Cannot use an `offset` when using `order_by`. The alternative for paging is to use `order_by.start_from` and a filter to exclude the IDs that you've already seen for the `order_by.start_from` value",
        );
      }
      const desc = spec.direction === 'desc';
      const toNum = (v: unknown): number | undefined =>
        typeof v === 'number' ? v : typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : undefined;
      const entries: Array<{ p: StoredPoint; v: number }> = [];
      for (const p of matching) {
        for (const v of getValues(p.payload, spec.key).flat()) {
          const n = toNum(v);
          if (n !== undefined) entries.push({ p, v: n });
        }
      }
      const start = toNum(spec.start_from);
      const filtered = entries.filter((e) => start === undefined || (desc ? e.v <= start : e.v >= start));
      filtered.sort((a, b) => (desc ? b.v - a.v : a.v - b.v) || compareIds(a.p.id, b.p.id));
      return {
        points: filtered.slice(0, limit).map((e) => ({
          ...this.record(col, e.p, body.with_payload, true, body.with_vector),
          order_value: e.v,
        })),
        next_page_offset: null,
      };
    }
    matching.sort((a, b) => compareIds(a.id, b.id));
    if (body.offset !== undefined && body.offset !== null) {
      const offset = normalizeId(body.offset);
      matching = matching.filter((p) => compareIds(p.id, offset) >= 0);
    }
    const page = matching.slice(0, limit);
    const next = matching.length > limit ? matching[limit].id : null;
    return { points: page.map((p) => this.record(col, p, body.with_payload, true, body.with_vector)), next_page_offset: next };
  }

  // ---------------------------------------------------------------- Query API

  query(name: string, body: Body): { points: unknown[] } {
    const col = this.resolve(name);
    const limit = (body.limit as number | null | undefined) ?? 10;
    const offset = (body.offset as number | null | undefined) ?? 0;
    if (body.lookup_from) throw unsupported('lookup_from');
    const scored = this.runQuery(col, body, undefined, limit + offset);
    return {
      points: scored.slice(offset, offset + limit).map((s) => {
        const out: Record<string, unknown> = { id: s.point.id, version: s.point.version, score: s.score };
        const payload = selectPayload(s.point.payload, body.with_payload, false);
        if (payload !== undefined) out.payload = payload;
        const vector = this.vectorOutput(col, s.point, body.with_vector);
        if (vector !== undefined) out.vector = vector;
        return out;
      }),
    };
  }

  private runQuery(col: Collection, req: Body, parentFilter: Filter, take: number): Scored[] {
    const filter = andFilters(parentFilter, req.filter as Filter);
    const prefetch =
      req.prefetch === undefined || req.prefetch === null
        ? []
        : Array.isArray(req.prefetch)
          ? (req.prefetch as Body[])
          : [req.prefetch as Body];
    const query = req.query as unknown;
    const threshold = req.score_threshold as number | null | undefined;
    const using = (req.using as string | null | undefined) ?? '';

    let results: Scored[];
    if (prefetch.length > 0) {
      const lists = prefetch.map((p) => this.runQuery(col, p, filter, (p.limit as number | null | undefined) ?? 10));
      const fusion = this.fusionOf(query);
      if (fusion) {
        results = fusion.kind === 'rrf' ? this.rrf(lists, fusion.k, fusion.weights) : this.dbsf(lists);
      } else if (query === undefined || query === null) {
        throw new HttpError(400, "Bad request: A query is needed to merge the prefetches. Can't have prefetches without defining a query.");
      } else {
        const seen = new Map<string, StoredPoint>();
        for (const list of lists) for (const s of list) seen.set(idKey(s.point.id), s.point);
        results = this.scoreVector(col, query, using, [...seen.values()]);
      }
    } else {
      const candidates = [...col.points.values()].filter((p) => checkFilter(filter, p));
      if (query === undefined || query === null) {
        results = candidates.sort((a, b) => compareIds(a.id, b.id)).map((point) => ({ point, score: 0 }));
      } else {
        if (this.fusionOf(query)) throw new HttpError(400, 'Bad request: Fusion queries cannot be used without prefetches');
        results = this.scoreVector(col, query, using, candidates);
      }
    }
    if (threshold !== undefined && threshold !== null) {
      const lowerIsBetter = this.lowerIsBetter(col, query, using);
      results = results.filter((s) => (lowerIsBetter ? s.score <= threshold : s.score >= threshold));
    }
    return results.slice(0, take);
  }

  private fusionOf(query: unknown): { kind: 'rrf'; k: number; weights?: number[] } | { kind: 'dbsf' } | undefined {
    if (typeof query !== 'object' || query === null || Array.isArray(query)) return undefined;
    const q = query as Record<string, unknown>;
    if (q.fusion === 'rrf') return { kind: 'rrf', k: RRF_DEFAULT_K };
    if (q.fusion === 'dbsf') return { kind: 'dbsf' };
    if (q.rrf !== undefined) {
      const rrf = q.rrf as { k?: number | null; weights?: number[] | null };
      return { kind: 'rrf', k: rrf.k ?? RRF_DEFAULT_K, weights: rrf.weights ?? undefined };
    }
    return undefined;
  }

  /** Qdrant: each list contributes 1 / ((position + 1) / weight + k - 1), position 0-based; sum; sort desc. */
  private rrf(lists: Scored[][], k: number, weights?: number[]): Scored[] {
    if (weights && weights.length !== lists.length) {
      throw new HttpError(
        400,
        `Wrong input: Number of weights in RRF should match number of pre-fetches: got ${weights.length}, expected ${lists.length}`,
      );
    }
    const acc = new Map<string, Scored>();
    lists.forEach((list, li) => {
      const w = weights ? weights[li] : 1;
      list.forEach((s, pos) => {
        const contribution = w <= 0 ? 0 : 1 / ((pos + 1) / w + k - 1);
        const key = idKey(s.point.id);
        const prev = acc.get(key);
        if (prev) prev.score += contribution;
        else acc.set(key, { point: s.point, score: contribution });
      });
    });
    return [...acc.values()].sort((a, b) => b.score - a.score);
  }

  /** Distribution-based score fusion: per list normalise with mean ± 3σ to [0, 1], then sum. */
  private dbsf(lists: Scored[][]): Scored[] {
    const acc = new Map<string, Scored>();
    for (const list of lists) {
      if (list.length === 0) continue;
      const mean = list.reduce((s, x) => s + x.score, 0) / list.length;
      const sd = Math.sqrt(list.reduce((s, x) => s + (x.score - mean) ** 2, 0) / list.length);
      const low = mean - 3 * sd;
      const high = mean + 3 * sd;
      for (const s of list) {
        const norm = high === low ? 0.5 : Math.min(1, Math.max(0, (s.score - low) / (high - low)));
        const key = idKey(s.point.id);
        const prev = acc.get(key);
        if (prev) prev.score += norm;
        else acc.set(key, { point: s.point, score: norm });
      }
    }
    return [...acc.values()].sort((a, b) => b.score - a.score);
  }

  private lowerIsBetter(col: Collection, query: unknown, using: string): boolean {
    if (this.fusionOf(query)) return false;
    const d = col.dense[using]?.distance;
    return d === 'Euclid' || d === 'Manhattan';
  }

  private unwrapQuery(query: unknown): unknown {
    if (typeof query === 'object' && query !== null && !Array.isArray(query) && !isSparse(query)) {
      const q = query as Record<string, unknown>;
      if ('nearest' in q) {
        if (q.mmr) throw unsupported('mmr');
        return q.nearest;
      }
      const kind = Object.keys(q)[0] ?? 'unknown';
      throw unsupported(`query kind "${kind}"`);
    }
    return query;
  }

  private scoreVector(col: Collection, rawQuery: unknown, using: string, candidates: StoredPoint[]): Scored[] {
    const query = this.unwrapQuery(rawQuery);
    if (typeof query === 'string' || typeof query === 'number') throw unsupported('query by point id');
    const dense = col.dense[using];
    const sparse = col.sparse[using];
    if (!dense && !sparse) throw new HttpError(400, `Wrong input: Not existing vector name error: ${using}`);
    if (isNumberArray(query)) {
      if (!dense) throw new HttpError(400, `Wrong input: Conversion between sparse and regular vectors failed`);
      if (query.length !== dense.size) {
        throw new HttpError(400, `Wrong input: Vector dimension error: expected dim: ${dense.size}, got ${query.length}`);
      }
      const q = dense.distance === 'Cosine' ? normalize(query) : query;
      const scored: Scored[] = [];
      for (const p of candidates) {
        const v = p.vectors[using] as number[] | undefined;
        if (!v) continue;
        let score: number;
        switch (dense.distance) {
          case 'Cosine':
          case 'Dot':
            score = dot(q, v);
            break;
          case 'Euclid':
            score = Math.sqrt(v.reduce((s, x, i) => s + (x - q[i]) ** 2, 0));
            break;
          case 'Manhattan':
            score = v.reduce((s, x, i) => s + Math.abs(x - q[i]), 0);
            break;
        }
        scored.push({ point: p, score });
      }
      const asc = dense.distance === 'Euclid' || dense.distance === 'Manhattan';
      return scored.sort((a, b) => (asc ? a.score - b.score : b.score - a.score));
    }
    if (isSparse(query)) {
      if (!sparse) throw new HttpError(400, `Wrong input: Conversion between sparse and regular vectors failed`);
      if (query.indices.length !== query.values.length) {
        throw new HttpError(422, 'Validation error in JSON body: [query.values: must be the same length as indices]');
      }
      const weights = new Map<number, number>();
      query.indices.forEach((idx, i) => weights.set(idx, (weights.get(idx) ?? 0) + query.values[i]));
      if (sparse.modifier === 'idf') {
        // n = number of points holding this sparse vector; df = how many of them have the dimension.
        const holders = [...col.points.values()].filter((p) => p.vectors[using] !== undefined);
        const n = holders.length;
        for (const [idx, w] of weights) {
          const df = holders.filter((p) => (p.vectors[using] as SparseVector).indices.includes(idx)).length;
          weights.set(idx, w * qdrantIdf(n, df));
        }
      }
      const scored: Scored[] = [];
      for (const p of candidates) {
        const v = p.vectors[using] as SparseVector | undefined;
        if (!v) continue;
        let score = 0;
        let overlap = false;
        v.indices.forEach((idx, i) => {
          const w = weights.get(idx);
          if (w !== undefined) {
            overlap = true;
            score += w * v.values[i];
          }
        });
        // The inverted index only yields points sharing at least one dimension with the query.
        if (overlap) scored.push({ point: p, score });
      }
      return scored.sort((a, b) => b.score - a.score);
    }
    if (Array.isArray(query)) throw unsupported('multivector queries');
    throw unsupported('inference queries (document/image/object)');
  }
}
