/**
 * Recall: earlier turns of the session that semantic recall found relevant, shown in the system message as a
 * `<recalled>` block so the model can consult them.
 *
 * Rules: candidates come best first; those already in the window (by seq) and repeated seqs are dropped; the rest are
 * taken best first while they fit the grant (a misfit is skipped, the next may still fit); the block shows them in
 * time (seq) order, each entry starting with `[#seq · YYYY-MM-DD] role:` followed by the content (never cut: an
 * entry fits whole or is left out). The date is written only on an entry whose day differs from the entry before it
 * (`[#seq] role:` otherwise): tekken spends a token per digit, so a full `[#seq · YYYY-MM-DD HH:MM]` header cost about
 * 27 tokens, two thirds of an average LoCoMo turn; `[#seq]` costs 7 and a day 12 more. Planning counts a day once per
 * block, exactly as it is rendered. Content, role and date are defused (defuse.ts), so a turn cannot close the block
 * or forge another entry; otherwise the content is shown as written.
 */
import type { TurnCandidate } from './context-types';
import { defuse } from './defuse';
import type { CountTokens } from '../core/tokens/message-tokens';
import { blockNeed, placeWithin, type BlockRules } from './place-within';

export const RECALLED_OPEN = '<recalled>';
export const RECALLED_HEADER = 'Earlier messages of this conversation, recalled as possibly relevant (oldest first):';
export const RECALLED_CLOSE = '</recalled>';
/** Entries are separated by a blank line so multi-line contents stay readable. */
export const RECALLED_SEPARATOR = '\n\n';

/** A UTC ISO 8601 timestamp as toISOString writes it. */
const UTC_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** `2023-05-08` (UTC) from an ISO timestamp; the raw string, defused to one line, when it does not parse. */
export function formatTurnDate(createdAt: string): string {
  // Stored dates are UTC ISO strings: their day is their first ten characters (parsing each was a tenth of a build).
  if (UTC_ISO.test(createdAt)) return createdAt.slice(0, 10);
  const t = Date.parse(createdAt);
  if (Number.isNaN(t)) return defuse(createdAt, { inline: true });
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * One recalled entry: `[#12 · 2023-05-08] user: <content, defused>`, or `[#12] user: ...` when `withDate` is false
 * (the entry before it in the block is of the same day).
 */
export function formatRecalledTurn(turn: TurnCandidate, withDate = true): string {
  const label = withDate ? `#${turn.seq} · ${formatTurnDate(turn.createdAt)}` : `#${turn.seq}`;
  return `[${label}] ${defuse(turn.role, { inline: true })}: ${defuse(turn.content)}`;
}

/** The `<recalled>` block of these turns in the order given (callers pass ascending seq); '' when there are none. */
export function formatRecalledBlock(turns: readonly TurnCandidate[]): string {
  if (turns.length === 0) return '';
  const body = turns
    .map((turn, i) => formatRecalledTurn(turn, i === 0 || formatTurnDate(turns[i - 1].createdAt) !== formatTurnDate(turn.createdAt)))
    .join(RECALLED_SEPARATOR);
  return `${RECALLED_OPEN}\n${RECALLED_HEADER}\n${body}\n${RECALLED_CLOSE}`;
}

export interface RecalledSelection {
  /** Placed turns, best first (the order to drop them in, worst last). */
  ranked: TurnCandidate[];
  /** Planning cost of each placed turn's entry, by seq. */
  entryTokens: Map<number, number>;
}

/** Tokens of the block's fixed frame (open tag, header, close tag). */
export function recalledFrameTokens(tokenCounter: CountTokens): number {
  return tokenCounter.count(`${RECALLED_OPEN}\n${RECALLED_HEADER}\n\n${RECALLED_CLOSE}`);
}

/**
 * Planning cost of one entry inside the block: its text without a date, its separator, and its day's label unless an
 * entry of the same day is already placed (`placed`): the block writes each day once.
 */
export function recalledEntryTokens(
  turn: TurnCandidate,
  tokenCounter: CountTokens,
  placed: readonly TurnCandidate[] = [],
  dayOf: (turn: TurnCandidate) => string = (t) => formatTurnDate(t.createdAt),
): number {
  const day = dayOf(turn);
  const dayShown = placed.some((other) => dayOf(other) === day);
  const entry = tokenCounter.count(formatRecalledTurn(turn, false)) + tokenCounter.count(RECALLED_SEPARATOR);
  return dayShown ? entry : entry + tokenCounter.count(` · ${day}`);
}

/** Unique candidates not in the window, best first. */
export function recallCandidates(candidates: readonly TurnCandidate[], windowSeqs: ReadonlySet<number>): TurnCandidate[] {
  const seen = new Set<number>();
  const out: TurnCandidate[] = [];
  for (const c of candidates) {
    if (windowSeqs.has(c.seq) || seen.has(c.seq)) continue;
    seen.add(c.seq);
    out.push(c);
  }
  return out;
}

/** Tokens of the whole block if every candidate were placed (the part's need); 0 without candidates. */
export function recalledNeed(candidates: readonly TurnCandidate[], tokenCounter: CountTokens): number {
  if (candidates.length === 0) return 0;
  return blockNeed(candidates, recalledRules(tokenCounter));
}

function recalledRules(tokenCounter: CountTokens): BlockRules<TurnCandidate> {
  const days = new Map<TurnCandidate, string>();
  const dayOf = (turn: TurnCandidate) => {
    let day = days.get(turn);
    if (day === undefined) days.set(turn, (day = formatTurnDate(turn.createdAt)));
    return day;
  };
  return {
    frameTokens: recalledFrameTokens(tokenCounter),
    entryTokens: (turn, _position, placed) => recalledEntryTokens(turn, tokenCounter, placed, dayOf),
    blockTokens: (placed) => tokenCounter.count(formatRecalledBlock(inTimeOrder(placed))),
  };
}

/**
 * Recalled turns placed within `grant`: candidates not in the window, best first while they fit (misfits skipped),
 * then, counting the real block, the worst dropped until the block fits the grant exactly.
 */
export function selectRecalled(
  candidates: readonly TurnCandidate[],
  windowSeqs: ReadonlySet<number>,
  grant: number,
  tokenCounter: CountTokens,
): RecalledSelection {
  const pool = recallCandidates(candidates, windowSeqs);
  if (pool.length === 0) return { ranked: [], entryTokens: new Map() };
  const { placed, costs } = placeWithin(pool, grant, recalledRules(tokenCounter));
  return { ranked: placed, entryTokens: new Map(placed.map((turn, i) => [turn.seq, costs[i]])) };
}

/** A copy sorted by ascending seq. */
export function inTimeOrder(turns: readonly TurnCandidate[]): TurnCandidate[] {
  return [...turns].sort((a, b) => a.seq - b.seq);
}
