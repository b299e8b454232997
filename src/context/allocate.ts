/**
 * Budget allocation of the context protocol: how many tokens each optional part (retrieved, summary, recalled) may
 * spend of what is left after the fixed parts, the window taking the rest. Pure arithmetic, no tokenizer.
 *
 * Rules:
 * 1. Each part's first allotment is floor(share * available); its grant is min(need, allotment).
 * 2. What a satisfied part leaves of its allotment flows to the parts that still need more, in proportion to their
 *    shares; repeated until no part is left wanting or nothing is left to hand out.
 * 3. Everything not granted (the window's own share, unused tokens, rounding) goes to the window.
 * So grants never exceed needs and retrieved + summary + recalled + window === available exactly.
 */
import { invalidRequest } from '../errors';
import type { ContextShares } from './context-types';

export type AllocatedPart = keyof ContextShares;

export const ALLOCATED_PARTS: readonly AllocatedPart[] = ['retrieved', 'summary', 'recalled'];

/** Floating-point slack allowed when checking that shares sum to at most 1. */
const SHARE_SUM_TOLERANCE = 1e-9;

export interface AllocationInput {
  /** Tokens to divide (the budget minus the fixed parts and the reserved newest message); a non-negative integer. */
  available: number;
  shares: ContextShares;
  /** Tokens each part would use if it got everything it has (all its candidates formatted). */
  needs: Record<AllocatedPart, number>;
}

export type Allocation = Record<AllocatedPart | 'window', number>;

/** Throws invalid_request unless every share is a finite number in [0, 1] and they sum to at most 1. */
export function validateShares(shares: ContextShares): void {
  let sum = 0;
  for (const part of ALLOCATED_PARTS) {
    const s = shares[part];
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 1) {
      throw invalidRequest(`context share "${part}" must be a number between 0 and 1`, { part, share: s });
    }
    sum += s;
  }
  if (sum > 1 + SHARE_SUM_TOLERANCE) throw invalidRequest('context shares must sum to at most 1', { sum });
}

export function allocate(input: AllocationInput): Allocation {
  const { available, shares, needs } = input;
  if (!Number.isInteger(available) || available < 0) {
    throw invalidRequest('available tokens must be a non-negative integer', { available });
  }
  validateShares(shares);
  for (const part of ALLOCATED_PARTS) {
    if (!Number.isFinite(needs[part]) || needs[part] < 0) throw invalidRequest(`need of "${part}" must be >= 0`, { part });
  }

  const grant: Record<AllocatedPart, number> = { retrieved: 0, summary: 0, recalled: 0 };
  let freed = 0;
  for (const part of ALLOCATED_PARTS) {
    const allotment = Math.floor(shares[part] * available);
    grant[part] = Math.min(Math.ceil(needs[part]), allotment);
    freed += allotment - grant[part];
  }
  // Hand what satisfied parts left to the hungry ones, by share, until none is hungry or flooring hands out nothing.
  for (;;) {
    const hungry = ALLOCATED_PARTS.filter((p) => shares[p] > 0 && grant[p] < needs[p]);
    const shareSum = hungry.reduce((s, p) => s + shares[p], 0);
    if (freed <= 0 || hungry.length === 0 || shareSum <= 0) break;
    let handed = 0;
    for (const part of hungry) {
      const offer = Math.floor((freed * shares[part]) / shareSum);
      const take = Math.min(offer, Math.ceil(needs[part]) - grant[part]);
      grant[part] += take;
      handed += take;
    }
    if (handed === 0) break;
    freed -= handed;
  }
  const granted = grant.retrieved + grant.summary + grant.recalled;
  return { ...grant, window: available - granted };
}
