import { z } from 'zod';

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as the document holds it. */
export type JsonSchema = Record<string, unknown>;

/** The one dialect both directions are converted to. */
const TARGET = 'draft-2020-12';

/**
 * Request schemas as OpenAPI 3.1 shows them, converted from the very zod schemas the routes parse with, so the document
 * cannot drift from validation. `io: 'input'` describes what a client sends (fields with defaults are optional).
 * Refinements (non-blank text, reserved collection names) have no JSON Schema form and are left out: the server stays
 * the judge. An unrepresentable schema throws at startup, which every component test would notice.
 */
export function requestSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: TARGET }) as JsonSchema;
  return json;
}

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Response schemas (`components.schemas`), converted by the same converter from the zod views the routes' answers are
 * typed by (src/api/views/), so the document cannot drift from what is sent. `io: 'output'` describes what the server
 * writes. Each entry of `components` becomes a component of that name, and a component used inside another becomes a
 * `$ref` to it. Three things of the converter's output are left out of the published document:
 * - `additionalProperties: false` on objects (zod's reading of "unknown keys are stripped"): api.md lets responses gain
 *   fields, so clients must not reject one; the component tests close the objects again to hold the server to them.
 * - the safe-integer bounds zod puts on every integer, and the long `pattern` it puts beside `format: date-time`:
 *   noise to a reader, and said by `type: integer` and `format` already.
 */
export function responseSchemas(components: Record<string, z.ZodType>): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(components)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'output',
    target: TARGET,
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema: json }) => {
      if (json.type === 'object' && json.additionalProperties === false) delete json.additionalProperties;
      if (typeof json.maximum === 'number' && SAFE_INTEGER_BOUNDS.has(json.maximum)) delete json.maximum;
      if (typeof json.minimum === 'number' && SAFE_INTEGER_BOUNDS.has(json.minimum)) delete json.minimum;
      if (json.format === 'date-time') delete json.pattern;
    },
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => {
      const { $schema: _dialect, $id: _id, ...json } = schema as JsonSchema;
      return [name, json];
    }),
  );
}

export interface ParameterObject {
  name: string;
  in: 'query' | 'path';
  required: boolean;
  schema: JsonSchema;
  description?: string;
}

/** One query parameter per property of a zod object schema (query strings are flat here). */
export function queryParameters(schema: z.ZodType): ParameterObject[] {
  const json = requestSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

/** A path parameter from the zod schema of its value, or of an object holding it (sessionIdParam is `{id}`). */
export function pathParameter(name: string, schema: z.ZodType, description?: string): ParameterObject {
  const json = requestSchema(schema) as { type?: string; properties?: Record<string, JsonSchema> };
  const value = json.type === 'object' ? json.properties?.[name] : json;
  if (!value) throw new Error(`the schema of path parameter "${name}" has no property "${name}"`);
  return { name, in: 'path', required: true, schema: value, ...(description ? { description } : {}) };
}
