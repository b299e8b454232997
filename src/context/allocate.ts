/**
 * Budget allocation of the context protocol: how many tokens each optional part (retrieved, summary, recalled) may
 * spend of what is left after the fixed parts, the window taking the rest. Pure arithmetic, no tokenizer.
 *
 * Rules:
 * 1. Each part's first allotment is floor(share * available); its grant is min(need, allotment).
 * 2. What retrieval leaves (a session whose collection has no documents, or a question they do not answer) goes to
 *    recall first: both search for what the question needs, one in the documents, one in the conversation. (LoCoMo,
 *    `npm run eval:memory -- --ablation on`: +3.9 and +2.8 points of evidence recall at 2,048 tokens on the two
 *    conversations, none at 4,096, against flowing it by share, which gave the summary half.)
 * 3. What a satisfied part leaves of its allotment flows to the parts that still need more, in proportion to their
 *    shares; repeated until no part is left wanting or nothing is left to hand out.
 * 4. Everything not granted (the window's own share, unused tokens, rounding) goes to the window, up to its need when
 *    one is given (`windowNeed`: the window may not reach back past the turns a placed summary covers); what the window
 *    cannot use flows to the parts that still need more, by the same rule.
 * 5. The summary is never cut (summary.ts): a grant short of its whole need is withdrawn and flows to the other parts
 *    by the same rule, rather than waiting unused for the window to take it at the end.
 * So grants never exceed needs and retrieved + summary + recalled + window === available exactly (the window keeps
 * what nobody can use).
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
  /** Tokens the window can use at most; default unbounded. */
  windowNeed?: number;
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
  if (shares.recalled > 0) {
    const unretrieved = Math.floor(shares.retrieved * available) - grant.retrieved;
    const toRecall = Math.max(0, Math.min(unretrieved, Math.ceil(needs.recalled) - grant.recalled));
    grant.recalled += toRecall;
    freed -= toRecall;
  }
  flow(grant, freed, shares, needs);
  // The window's rest beyond what it can show flows on to the parts that still need more.
  const windowNeed = input.windowNeed ?? Infinity;
  const rest = available - granted(grant);
  if (rest > windowNeed) flow(grant, rest - Math.max(0, Math.floor(windowNeed)), shares, needs);
  // The summary is placed whole or not at all: a grant short of its need goes to the parts that can use it.
  if (grant.summary > 0 && grant.summary < Math.ceil(needs.summary)) {
    const returned = grant.summary;
    grant.summary = 0;
    flow(grant, returned, { ...shares, summary: 0 }, needs);
  }
  return { ...grant, window: available - granted(grant) };
}

const granted = (grant: Record<AllocatedPart, number>) => grant.retrieved + grant.summary + grant.recalled;

/** Hands `freed` tokens to the hungry parts, by share, until none is hungry or flooring hands out nothing. */
function flow(grant: Record<AllocatedPart, number>, freed: number, shares: ContextShares, needs: Record<AllocatedPart, number>): void {
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
}
