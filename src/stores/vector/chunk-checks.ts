import { invalidRequest } from '../../errors';
import type { MetadataValue } from './vector-store';

/**
 * Checks and encodings both vector stores share, so the two behave alike on the contract suite's edge cases.
 */

/** A vector of the store's size with only finite values. */
export function checkVector(vector: Float32Array | undefined, dimensions: number, what: string): asserts vector is Float32Array {
  if (!(vector instanceof Float32Array)) throw invalidRequest(`${what} is required (a Float32Array)`);
  if (vector.length !== dimensions) throw invalidRequest(`${what} has ${vector.length} dimensions; the store holds ${dimensions}`);
  for (const value of vector) if (!Number.isFinite(value)) throw invalidRequest(`${what} holds a non-finite value`);
}

/**
 * One metadata pair as an exact, type-strict tag (`key=<JSON value>`): filters match tags with "any of", so
 * `2024` and `"2024"` stay different values, in both stores.
 */
export function metaTag(key: string, value: MetadataValue): string {
  if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string' && typeof value !== 'boolean') {
    throw invalidRequest(`metadata ${JSON.stringify(key)} must be a string, a finite number or a boolean`);
  }
  return `${key}=${JSON.stringify(value)}`;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Versions and chunk indexes are stored as 32-bit integers. */
export function checkInt32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) throw invalidRequest(`${what} must be a 32-bit integer, got ${value}`);
  return value;
}
