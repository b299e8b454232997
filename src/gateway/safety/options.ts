import type { Clock } from './keys';

/** Constructor option checks shared by the gateway's safety parts. Each returns the value it checked. */

/** The injected clock, or the wall clock. */
export const clockOf = (options: { now?: Clock }): Clock => options.now ?? Date.now;

/** Throws `<name> must be positive` unless `value` > 0 (NaN fails). */
export function requirePositive(name: string, value: number): number {
  if (!(value > 0)) throw new Error(`${name} must be positive`);
  return value;
}

/** Throws `<name> must be a positive integer` unless `value` is an integer >= 1. */
export function requirePositiveInt(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${name} must be a positive integer`);
  return value;
}
