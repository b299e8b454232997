import { z } from 'zod';
import type { JsonSchema } from './response-schemas';

/**
 * Request schemas as OpenAPI 3.1 shows them, converted from the very zod schemas the routes parse with, so the document
 * cannot drift from validation. `io: 'input'` describes what a client sends (fields with defaults are optional).
 * Refinements (non-blank text, reserved collection names) have no JSON Schema form and are left out: the server stays
 * the judge. An unrepresentable schema throws at startup, which every component test would notice.
 */
export function requestSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return json;
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
