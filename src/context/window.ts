/**
 * The window: the newest whole messages of the session, sent as real user/assistant turns.
 *
 * Rules: walk `recent` newest first and take each message while the running total fits the grant; stop at the first
 * that does not fit (no gaps, so the window is always a contiguous run ending at the newest message). A message is
 * never cut. The newest message (recent[0]) must always fit, or the context is too small to answer in.
 */
import { AppError } from '../errors';
import type { TurnCandidate } from './context-types';
import { MESSAGE_OVERHEAD_TOKENS } from '../core/tokens/message-tokens';

/** Planning cost of a window turn: its stored token count plus the template overhead of a message. */
export function turnMessageTokens(turn: TurnCandidate): number {
  return turn.tokenCount + MESSAGE_OVERHEAD_TOKENS;
}

export interface WindowSelection {
  /** Turns taken, ascending seq. */
  turns: TurnCandidate[];
  /** How many of `recent` (newest first) were taken: recent[0 .. taken - 1]. */
  taken: number;
  /** Planning tokens (costOf summed) of the turns this call took (for extendWindow: only the added ones). */
  tokens: number;
}

/**
 * Newest whole messages of `recent` (newest first) whose costs fit `grant`, returned in ascending seq.
 * Throws context_too_small when recent[0] alone does not fit (an empty `recent` gives an empty window).
 */
export function selectWindow(
  recent: readonly TurnCandidate[],
  grant: number,
  costOf: (turn: TurnCandidate) => number = turnMessageTokens,
): WindowSelection {
  if (recent.length > 0 && costOf(recent[0]) > grant) {
    throw new AppError('context_too_small', 'the context budget cannot hold the newest message of the session', {
      budget: grant,
      required: costOf(recent[0]),
    });
  }
  return extendWindow(recent, 0, grant, costOf);
}

/**
 * Continues a window walk: from recent[from] (the oldest turn not yet taken), takes older turns while their costs fit
 * `available`, stopping at the first misfit. `taken` counts from recent[0], so it includes the `from` turns before.
 */
export function extendWindow(
  recent: readonly TurnCandidate[],
  from: number,
  available: number,
  costOf: (turn: TurnCandidate) => number = turnMessageTokens,
): WindowSelection {
  let tokens = 0;
  let taken = from;
  while (taken < recent.length) {
    const cost = costOf(recent[taken]);
    if (tokens + cost > available) break;
    tokens += cost;
    taken++;
  }
  const turns = recent.slice(0, taken).reverse();
  return { turns, taken, tokens };
}
