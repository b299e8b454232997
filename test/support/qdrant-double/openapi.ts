/**
 * Request validation for the Qdrant test double, driven by Qdrant's own OpenAPI 3.0 document
 * (read from the shared checkout, never copied into this repo).
 *
 * OpenAPI 3.0 is not JSON Schema, so the document is rewritten before it reaches ajv:
 *  - `nullable: true` next to a `type` becomes a type union with "null" (and `null` is added to an `enum`);
 *  - a bare `{ "nullable": true }` (Qdrant uses it as the second branch of `anyOf` for Option<T>)
 *    becomes `{ "type": "null" }` — as plain JSON Schema it would accept anything and make every
 *    optional field unchecked;
 *  - `nullable` next to `$ref`/`anyOf`/... wraps the schema in `anyOf: [schema, {type: null}]`;
 *  - the OpenAPI-only keyword `example` is dropped.
 * Qdrant's numeric formats (uint, uint8/32/64, int64, float, double) are registered as range checks;
 * uuid/date-time/uri come from ajv-formats; binary and partial-date-time are accepted as-is.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';

export const OPENAPI_PATH = path.resolve(__dirname, '../../../../shared/qdrant/openapi.json');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export interface RouteMatch {
  template: string;
  method: string;
  params: Record<string, string>;
}

export interface ValidationOutcome {
  ok: boolean;
  errors: string[];
}

interface OperationInfo {
  template: string;
  method: string;
  regex: RegExp;
  paramNames: string[];
  bodyValidator?: ValidateFunction;
  queryValidators: Record<string, ValidateFunction>;
  queryTypes: Record<string, string | undefined>;
  queryRequired: string[];
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rewrites an OpenAPI 3.0 schema (recursively) into JSON Schema draft-07 that ajv understands. */
export function convertSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(convertSchema);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'example') continue;
    if (key === 'properties' && isObject(value)) {
      const props: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) props[name] = convertSchema(sub);
      out[key] = props;
    } else {
      out[key] = convertSchema(value);
    }
  }
  if (out.nullable === true) {
    delete out.nullable;
    const meaningful = Object.keys(out).filter((k) => !['description', 'default', 'deprecated', 'title'].includes(k));
    if (meaningful.length === 0) return { ...out, type: 'null' };
    if (typeof out.type === 'string' || Array.isArray(out.type)) {
      const types = Array.isArray(out.type) ? out.type : [out.type];
      out.type = [...types.filter((t) => t !== 'null'), 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
      return out;
    }
    const { description, default: def, deprecated, ...rest } = out;
    const wrapped: JsonObject = { anyOf: [rest, { type: 'null' }] };
    if (description !== undefined) wrapped.description = description;
    if (def !== undefined) wrapped.default = def;
    if (deprecated !== undefined) wrapped.deprecated = deprecated;
    return wrapped;
  }
  if (out.nullable === false) delete out.nullable;
  return out;
}

const UINT_LIMITS: Record<string, number> = {
  uint8: 255,
  uint32: 4294967295,
  uint: Number.MAX_SAFE_INTEGER,
  uint64: Number.MAX_SAFE_INTEGER,
};

function createAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes, allowUnionTypes: true, validateFormats: true });
  addFormats(ajv, ['uuid', 'date-time', 'date', 'time', 'uri']);
  for (const [name, max] of Object.entries(UINT_LIMITS)) {
    ajv.addFormat(name, { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 && n <= max });
  }
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('binary', true);
  ajv.addFormat('partial-date-time', true);
  return ajv;
}

const SCHEMA_ID = 'qdrant-openapi.json';

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  if (!errors) return [];
  // anyOf produces one error per branch; keep them all but deduplicate.
  return [
    ...new Set(
      errors.map(
        (e) =>
          `${e.instancePath || '/'} ${e.message ?? 'invalid'}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`,
      ),
    ),
  ];
}

export class OpenApiRoutes {
  private readonly operations: OperationInfo[] = [];

  constructor(docPath = OPENAPI_PATH) {
    const doc = JSON.parse(fs.readFileSync(docPath, 'utf8')) as JsonObject;
    const components = convertSchema((doc.components as JsonObject) ?? {}) as JsonObject;
    const bodyAjv = createAjv(false);
    const queryAjv = createAjv(false);
    for (const ajv of [bodyAjv, queryAjv]) ajv.addSchema({ $id: SCHEMA_ID, components } as object);
    const fixRef = (schema: Json): Json => {
      if (Array.isArray(schema)) return schema.map(fixRef);
      if (!isObject(schema)) return schema;
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(schema)) {
        out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${SCHEMA_ID}${v}` : fixRef(v);
      }
      return out;
    };

    const paths = doc.paths as Record<string, Record<string, JsonObject>>;
    for (const [template, item] of Object.entries(paths)) {
      const paramNames: string[] = [];
      const pattern = template
        .split('/')
        .map((seg) => {
          const m = /^\{(.+)\}$/.exec(seg);
          if (m) {
            paramNames.push(m[1]);
            return '([^/]+)';
          }
          return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('/');
      for (const [method, op] of Object.entries(item)) {
        if (!isObject(op)) continue;
        const info: OperationInfo = {
          template,
          method: method.toUpperCase(),
          regex: new RegExp(`^${pattern}$`),
          paramNames,
          queryValidators: {},
          queryTypes: {},
          queryRequired: [],
        };
        const body = (
          ((op.requestBody as JsonObject | undefined)?.content as JsonObject | undefined)?.['application/json'] as JsonObject | undefined
        )?.schema;
        if (body !== undefined) info.bodyValidator = bodyAjv.compile(fixRef(convertSchema(body)) as object);
        for (const p of (op.parameters as JsonObject[] | undefined) ?? []) {
          if (p.in !== 'query' || !isObject(p.schema)) continue;
          const schema = fixRef(convertSchema(p.schema)) as JsonObject;
          info.queryValidators[p.name as string] = queryAjv.compile(schema);
          info.queryTypes[p.name as string] = typeof schema.type === 'string' ? schema.type : undefined;
          if (p.required === true) info.queryRequired.push(p.name as string);
        }
        this.operations.push(info);
      }
    }
    // Literal segments win over templated ones (e.g. /collections/aliases vs /collections/{collection_name}).
    this.operations.sort((a, b) => a.paramNames.length - b.paramNames.length);
  }

  /** Finds the OpenAPI operation for a request; `pathExists` tells 404 from 405-like mismatches. */
  match(method: string, pathname: string): { op?: OperationInfo; match?: RouteMatch; pathExists: boolean } {
    let pathExists = false;
    for (const op of this.operations) {
      const m = op.regex.exec(pathname);
      if (!m) continue;
      pathExists = true;
      if (op.method !== method) continue;
      const params: Record<string, string> = {};
      op.paramNames.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      return { op, match: { template: op.template, method, params }, pathExists };
    }
    return { pathExists };
  }

  validateBody(op: OperationInfo, body: unknown): ValidationOutcome {
    if (!op.bodyValidator) return { ok: true, errors: [] };
    const ok = op.bodyValidator(body) as boolean;
    return { ok, errors: ok ? [] : describeErrors(op.bodyValidator.errors) };
  }

  hasBody(op: OperationInfo): boolean {
    return op.bodyValidator !== undefined;
  }

  /**
   * Every query parameter against the operation's declared ones: a value must fit its schema, a required one must be
   * there, and (stricter than Qdrant, whose query deserializers skip what they do not know) an undeclared or repeated
   * one is refused too: a misspelt `consistency` or `ordering` would otherwise be silently ignored by a real server,
   * and the test would pass while the store asked for nothing.
   */
  validateQuery(op: OperationInfo, query: URLSearchParams): ValidationOutcome {
    const errors: string[] = [];
    for (const name of new Set(query.keys())) {
      if (!Object.hasOwn(op.queryValidators, name))
        errors.push(`query parameter ${name} is not a parameter of ${op.method} ${op.template}`);
      else if (query.getAll(name).length > 1) errors.push(`query parameter ${name} is given ${query.getAll(name).length} times`);
    }
    for (const name of op.queryRequired) if (!query.has(name)) errors.push(`query parameter ${name} is required`);
    for (const [name, validate] of Object.entries(op.queryValidators)) {
      const raw = query.get(name);
      if (raw === null) continue;
      const t = op.queryTypes[name];
      let value: unknown = raw;
      if (t === 'boolean') value = raw === 'true' ? true : raw === 'false' ? false : raw;
      else if ((t === 'integer' || t === undefined) && /^-?\d+$/.test(raw)) value = Number(raw);
      if (!validate(value)) errors.push(`query parameter ${name}=${raw}: ${describeErrors(validate.errors).join('; ')}`);
    }
    return { ok: errors.length === 0, errors };
  }
}
