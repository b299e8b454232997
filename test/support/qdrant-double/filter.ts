/**
 * Qdrant filter semantics, in memory.
 * Keys are JSON paths as Qdrant reads them: `a.b` walks objects, `a[]` flattens an array, `a[0]` indexes it.
 * A plain `a.b` does not walk through an array held in `a` (Qdrant needs `a[].b` for that).
 * When the value found at the end of the path is an array, the condition matches if any element matches.
 */
export type PointId = number | string;
export type Payload = Record<string, unknown>;

export interface FilterablePoint {
  id: PointId;
  payload: Payload;
  vectors: Record<string, unknown>;
}

/** Qdrant prints UUIDs lowercase and hyphenated whatever the input looked like. */
export function normalizeId(id: unknown): PointId {
  if (typeof id === 'number') return id;
  const s = String(id)
    .toLowerCase()
    .replace(/^urn:uuid:/, '');
  const hex = s.replace(/-/g, '');
  if (/^[0-9a-f]{32}$/.test(hex)) {
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return s;
}

export function idKey(id: unknown): string {
  const n = normalizeId(id);
  return typeof n === 'number' ? `n:${n}` : `u:${n}`;
}

/** Integer ids sort before UUIDs; UUIDs compare as 128-bit numbers (= their hex text). */
export function compareIds(a: PointId, b: PointId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

type PathItem = { key: string } | { index: number } | { all: true };

export function parsePath(path: string): PathItem[] {
  const items: PathItem[] = [];
  const re = /([^.[\]]+)|\[(\d*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) {
    if (m[1] !== undefined) items.push({ key: m[1].replace(/^"|"$/g, '') });
    else if (m[2] === '') items.push({ all: true });
    else items.push({ index: Number(m[2]) });
  }
  return items;
}

/** Values at a path; missing leads to []. A null value is returned as null. */
export function getValues(payload: unknown, path: string): unknown[] {
  let current: unknown[] = [payload];
  for (const item of parsePath(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if ('key' in item) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && item.key in (v as object)) {
          next.push((v as Record<string, unknown>)[item.key]);
        }
      } else if ('index' in item) {
        if (Array.isArray(v) && item.index < v.length) next.push(v[item.index]);
      } else if (Array.isArray(v)) {
        next.push(...v);
      }
    }
    current = next;
  }
  return current;
}

/** Leaf values: arrays at the end of the path are flattened one level. */
function leafValues(payload: unknown, key: string): unknown[] {
  const out: unknown[] = [];
  for (const v of getValues(payload, key)) {
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

function asList(x: unknown): unknown[] {
  if (x === undefined || x === null) return [];
  return Array.isArray(x) ? x : [x];
}

function toNumberOrDate(v: unknown, datetime: boolean): number | undefined {
  if (datetime) {
    if (typeof v !== 'string') return undefined;
    const t = Date.parse(v.includes('T') || v.includes(' ') ? v.replace(' ', 'T') : v);
    return Number.isNaN(t) ? undefined : t;
  }
  return typeof v === 'number' ? v : undefined;
}

function checkRange(range: Record<string, unknown>, value: unknown): boolean {
  const bounds = ['gt', 'gte', 'lt', 'lte'].filter((b) => range[b] !== undefined && range[b] !== null);
  const datetime = bounds.some((b) => typeof range[b] === 'string');
  const x = toNumberOrDate(value, datetime);
  if (x === undefined) return false;
  for (const b of bounds) {
    const bound = toNumberOrDate(range[b], datetime);
    if (bound === undefined) return false;
    if (b === 'gt' && !(x > bound)) return false;
    if (b === 'gte' && !(x >= bound)) return false;
    if (b === 'lt' && !(x < bound)) return false;
    if (b === 'lte' && !(x <= bound)) return false;
  }
  return true;
}

function checkMatch(match: Record<string, unknown>, value: unknown): boolean {
  if ('value' in match) return value === match.value;
  if ('any' in match) return (match.any as unknown[]).some((x) => x === value);
  if ('except' in match) return !(match.except as unknown[]).some((x) => x === value);
  if ('text' in match) return typeof value === 'string' && value.includes(String(match.text));
  if ('phrase' in match) return typeof value === 'string' && value.includes(String(match.phrase));
  if ('text_any' in match) {
    return (
      typeof value === 'string' &&
      String(match.text_any)
        .split(/\s+/)
        .filter(Boolean)
        .some((w) => value.includes(w))
    );
  }
  if ('prefix' in match) return typeof value === 'string' && value.startsWith(String(match.prefix));
  return false;
}

function isEmptyValue(values: unknown[]): boolean {
  // Field missing, null, or an empty array.
  return values.every((v) => v === null || (Array.isArray(v) && v.length === 0));
}

export class UnsupportedFilterError extends Error {}

function checkFieldCondition(cond: Record<string, unknown>, payload: Payload): boolean {
  const key = cond.key as string;
  const raw = getValues(payload, key);
  const values = leafValues(payload, key);
  let checked = false;
  if (cond.match !== undefined && cond.match !== null) {
    checked = true;
    const match = cond.match as Record<string, unknown>;
    if ('except' in match) {
      // "Should have at least one value not matching any given values"; a missing/null field has no value
      // inside the excluded set, so it matches (Qdrant checks `except` against Null for absent fields).
      const present = values.filter((v) => v !== null);
      if (present.length > 0 && !present.some((v) => checkMatch(match, v))) return false;
    } else if (!values.some((v) => checkMatch(match, v))) return false;
  }
  if (cond.range !== undefined && cond.range !== null) {
    checked = true;
    if (!values.some((v) => checkRange(cond.range as Record<string, unknown>, v))) return false;
  }
  if (cond.values_count !== undefined && cond.values_count !== null) {
    checked = true;
    const n = values.filter((v) => v !== null).length;
    if (!checkRange(cond.values_count as Record<string, unknown>, n)) return false;
  }
  if (cond.is_empty !== undefined && cond.is_empty !== null) {
    checked = true;
    if (isEmptyValue(raw) !== cond.is_empty) return false;
  }
  if (cond.is_null !== undefined && cond.is_null !== null) {
    checked = true;
    const isNull = raw.length > 0 && raw.some((v) => v === null);
    if (isNull !== cond.is_null) return false;
  }
  for (const geo of ['geo_bounding_box', 'geo_radius', 'geo_polygon']) {
    if (cond[geo] !== undefined && cond[geo] !== null) throw new UnsupportedFilterError(`${geo} is not supported by the Qdrant double`);
  }
  if (!checked) {
    // Qdrant rejects a field condition without any check.
    throw new UnsupportedFilterError(`Wrong input: At least one field condition must be specified for key ${key}`);
  }
  return true;
}

export function checkCondition(cond: Record<string, unknown>, point: FilterablePoint): boolean {
  if ('key' in cond) return checkFieldCondition(cond, point.payload);
  if ('is_empty' in cond) return isEmptyValue(getValues(point.payload, (cond.is_empty as { key: string }).key));
  if ('is_null' in cond) {
    const raw = getValues(point.payload, (cond.is_null as { key: string }).key);
    return raw.length > 0 && raw.some((v) => v === null);
  }
  if ('has_id' in cond) {
    const wanted = new Set((cond.has_id as unknown[]).map(idKey));
    return wanted.has(idKey(point.id));
  }
  if ('has_vector' in cond) return point.vectors[cond.has_vector as string] !== undefined;
  if ('nested' in cond) {
    const nested = cond.nested as { key: string; filter: Record<string, unknown> };
    const elements = leafValues(point.payload, nested.key).filter((e) => e !== null && typeof e === 'object');
    return elements.some((el) => checkFilter(nested.filter, { id: point.id, payload: el as Payload, vectors: {} }));
  }
  if ('slice' in cond) throw new UnsupportedFilterError('slice condition is not supported by the Qdrant double');
  // Anything else is a nested Filter.
  return checkFilter(cond, point);
}

/** Qdrant: must = all, should = at least one (empty list = no constraint), must_not = none, min_should = at least N. */
export function checkFilter(filter: Record<string, unknown> | null | undefined, point: FilterablePoint): boolean {
  if (!filter) return true;
  const must = asList(filter.must) as Record<string, unknown>[];
  const should = asList(filter.should) as Record<string, unknown>[];
  const mustNot = asList(filter.must_not) as Record<string, unknown>[];
  if (!must.every((c) => checkCondition(c, point))) return false;
  if (should.length > 0 && !should.some((c) => checkCondition(c, point))) return false;
  if (mustNot.some((c) => checkCondition(c, point))) return false;
  const minShould = filter.min_should as { conditions: Record<string, unknown>[]; min_count: number } | null | undefined;
  if (minShould) {
    const n = minShould.conditions.filter((c) => checkCondition(c, point)).length;
    if (n < minShould.min_count) return false;
  }
  return true;
}

/** AND of two optional filters (used to push the parent filter down into prefetches). */
export function andFilters(
  a: Record<string, unknown> | null | undefined,
  b: Record<string, unknown> | null | undefined,
): Record<string, unknown> | undefined {
  if (!a) return b ?? undefined;
  if (!b) return a;
  return { must: [a, b] };
}
