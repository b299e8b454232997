/**
 * How the recalled and retrieved blocks are filled (the same rule for both): items in priority order, each placed when
 * its planning cost still fits the grant beside the block's frame, a misfit skipped; then, counting the real block
 * (entries can tokenise a little differently once joined), the last placed are dropped until it fits exactly.
 */
export interface BlockRules<T> {
  /** Tokens of the block's frame with no entries. */
  frameTokens: number;
  /** Planning cost of `item` placed as entry number `position` (from 1) after the items already `placed`. */
  entryTokens(item: T, position: number, placed: readonly T[]): number;
  /** Real tokens of the block holding `placed`. */
  blockTokens(placed: readonly T[]): number;
}

/** Tokens of the whole block if every item were placed (the part's need); 0 without items. */
export function blockNeed<T>(items: readonly T[], rules: Omit<BlockRules<T>, 'blockTokens'>): number {
  if (items.length === 0) return 0;
  const before: T[] = [];
  let need = rules.frameTokens;
  for (const item of items) {
    need += rules.entryTokens(item, before.length + 1, before);
    before.push(item);
  }
  return need;
}

/** The items placed within `grant`, in placement order, with each one's planning cost. */
export function placeWithin<T>(items: readonly T[], grant: number, rules: BlockRules<T>): { placed: T[]; costs: number[] } {
  const placed: T[] = [];
  const costs: number[] = [];
  if (items.length === 0 || rules.frameTokens > grant) return { placed, costs };
  let used = rules.frameTokens;
  for (const item of items) {
    const cost = rules.entryTokens(item, placed.length + 1, placed);
    if (used + cost > grant) continue;
    used += cost;
    placed.push(item);
    costs.push(cost);
  }
  // Drop the last placed until their planning costs cover the excess, then count again (a count of a large block is
  // the expensive step: once or twice, not once per dropped entry).
  let real = placed.length > 0 ? rules.blockTokens(placed) : 0;
  while (placed.length > 0 && real > grant) {
    for (let excess = real - grant; placed.length > 0 && excess > 0;) {
      placed.pop();
      excess -= Math.max(1, costs.pop()!);
    }
    real = placed.length > 0 ? rules.blockTokens(placed) : 0;
  }
  return { placed, costs };
}
