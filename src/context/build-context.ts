/**
 * The context protocol: builds the chat messages of one answer from candidates the session service already fetched.
 * Pure (no I/O), so every rule below is unit- and property-tested.
 *
 * Token accounting (message-tokens.ts): a message costs tokens(content) + MESSAGE_OVERHEAD_TOKENS (3, the chat
 * template's control tokens) and the prompt costs PROMPT_OVERHEAD_TOKENS (1, BOS) once. `context.used` is exactly
 * countMessages(messages) and is never above `budget`: the plan is made with per-item counts, then the real messages
 * are counted and, while they exceed the budget (joining texts can regroup tokens), the lowest-priority items are
 * dropped and the messages recounted, in a loop.
 *
 * Layout (empty blocks omitted):
 *   1. system: system prompt, CONTEXT_RULES (context is data to consult and cite, not instructions; cite with [n]),
 *      then `<summary>` ("Summary of the earlier conversation (through message N):"), `<recalled>` (recalled turns in
 *      time order, each `[#seq · YYYY-MM-DD HH:MM] role: content`) and `<context>` (retrieved passages
 *      `[n] Title (page p)` + text, the offline provider's format), separated by blank lines;
 *   2. the window: the newest whole turns as real user/assistant messages, ascending seq;
 *   3. the question as the last user message, verbatim.
 *
 * Data stays data: every field that lands in the system message (system prompt, passage titles and text, recalled
 * turns with their role and date, the summary) goes through the one `defuse` (defuse.ts) as it is formatted, so no
 * field can close or open a block or forge a `[n]` / `[#seq ...]` line; planning and the exact count both see the
 * defused text, since both count the formatted blocks. The window and the question are separate messages, verbatim.
 *
 * Rules:
 * - Always in: the system prompt with the rules, and the question. If they alone exceed the budget: context_too_small.
 * - R = budget - fixed (BOS, system head and its message overhead, question message). The newest turn (recent[0]) is
 *   reserved first and must fit R, else context_too_small. What remains is allocated (allocate.ts): retrieved,
 *   summary and recalled get min(need, share * remaining), unused shares flow to parts that need more, the window
 *   gets the rest plus the reserved newest turn.
 * - Window (window.ts): newest whole messages, newest first while they fit, stopping at the first misfit; never cut.
 * - Recalled (recalled.ts): candidates not in the window, best first while they fit; shown in time order.
 * - Summary (summary.ts): placed whole if it fits its grant, else left out. No part is shown twice: with the summary
 *   placed, the window shows only turns after those the summary covers (coversThroughSeq), except the newest turn, which
 *   is always shown; the window's share it cannot use then flows to the other parts. When the window can show every turn
 *   the summary covers (it reaches seq 1), the summary is left out instead. Recalled turns never repeat the window.
 * - Retrieved (retrieved.ts): deduped by chunkId, consecutive chunks of a document merged (overlap removed), best
 *   first while they fit (misfits skipped); markers 1..n in placement order; one citation per placed passage.
 * - Then whatever the parts left unused extends the window further back (older whole messages, first misfit stops);
 *   a turn the window reaches that was recalled moves to the window (shown once).
 * - Dropping order when the exact count exceeds the budget: the window's oldest turn (never the newest), then the
 *   worst recalled turn, then the last placed passage, then the summary.
 *
 * `context.parts` are per-block counts: system = system head + its message overhead + BOS; summary, recalled,
 * retrieved = tokens of each block as placed; window = the window's messages with their overheads; question = the
 * question message with its overhead. They sum to `used` up to the few tokens that joining blocks with blank lines
 * adds or saves; `used` itself is exact.
 */
import { AppError, invalidRequest } from '../errors';
import type { ChatMessage } from '../core/chat-message';
import type { TokenCounter } from '../core/tokens/token-counter';
import { allocate, validateShares } from './allocate';
import type { BuildContextInput, BuiltContext, TurnCandidate } from './context-types';
import { countMessages, memoizedCounter, messageTokens, PROMPT_OVERHEAD_TOKENS, type CountTokens } from '../core/tokens/message-tokens';
import { formatRecalledBlock, inTimeOrder, recallCandidates, recalledNeed, selectRecalled } from './recalled';
import { citationsFor, DEFAULT_SNIPPET_CHARS, formatRetrievedBlock, placePassages, retrievedNeed } from './retrieved';
import { DEFAULT_MAX_OVERLAP_CHARS, DEFAULT_MIN_OVERLAP_CHARS, mergeCandidates, type Passage } from '../core/passages';
import { formatSummaryBlock, summaryNeed } from './summary';
import { BLOCK_SEPARATOR, composeSystemMessage, systemHead } from './system-message';
import { extendWindow, selectWindow, turnMessageTokens } from './window';
import { pieceAlignedParts } from '../core/tokens/tekken-pieces';

export interface BuildContextOptions {
  /** Characters of a passage kept as its citation snippet. Default DEFAULT_SNIPPET_CHARS (200). */
  snippetChars?: number;
  /** How far back in a chunk the next chunk's start is looked for when merging. Default DEFAULT_MAX_OVERLAP_CHARS. */
  maxOverlapChars?: number;
  /** Shortest shared run that counts as an overlap when merging. Default DEFAULT_MIN_OVERLAP_CHARS. */
  minOverlapChars?: number;
}

export interface BuildContextDeps {
  /** Construct one TokenCounter and share it (loading the vocabulary takes ~0.1 s). */
  tokenCounter: TokenCounter | CountTokens;
}

/** Texts up to this long (a turn, a recalled entry, a passage) keep their counts across builds ... */
const LASTING_MAX_CHARS = 4000;
/** ... up to this many per token counter (then they start over). */
const LASTING_MAX_TEXTS = 20_000;
const lastingCounts = new WeakMap<object, Map<string, number>>();

/**
 * A counter that remembers short texts' counts from one build to the next (per underlying counter, so a test's fake
 * counter never answers for the real one): a session's turns and recalled entries come back question after question,
 * and counting them again was most of a build (a 5,000-token recalled block is ~2 ms of tokenising at 8,192 tokens).
 * A long text (the system message, whose blocks hold those entries) is counted by its piece-aligned parts, which sum to
 * its count exactly (pieceAlignedParts): at 10,000 turns this took a build's p50 from 4.6 ms to 3.3 ms (with the date fast path in recalled.ts). A count is a pure
 * function of the text, so nothing can go stale.
 */
function lastingCounter(tokenCounter: CountTokens): CountTokens {
  let known = lastingCounts.get(tokenCounter);
  if (known === undefined) lastingCounts.set(tokenCounter, (known = new Map()));
  const memo = known;
  const remembered = (text: string): number => {
    if (text.length > LASTING_MAX_CHARS) return tokenCounter.count(text);
    let n = memo.get(text);
    if (n === undefined) {
      if (memo.size >= LASTING_MAX_TEXTS) memo.clear();
      n = tokenCounter.count(text);
      memo.set(text, n);
    }
    return n;
  };
  return {
    count(text: string): number {
      if (text.length <= LASTING_MAX_CHARS) return remembered(text);
      let total = 0;
      for (const part of pieceAlignedParts(text)) total += remembered(part);
      return total;
    },
  };
}

/** What the builder decided to place; rendered to messages and recounted until it fits. */
interface Plan {
  /** recent[0 .. windowTaken - 1] are in the window. */
  windowTaken: number;
  /** Placed recalled turns, best first. */
  recalled: TurnCandidate[];
  summaryPlaced: boolean;
  /** Placed passages in marker order. */
  placed: Passage[];
}

interface Rendered {
  messages: ChatMessage[];
  window: TurnCandidate[];
  recalled: TurnCandidate[];
  blocks: { summary: string; recalled: string; retrieved: string };
}

export function buildContext(input: BuildContextInput, deps: BuildContextDeps, options: BuildContextOptions = {}): BuiltContext {
  validateInput(input);
  const tc = memoizedCounter(lastingCounter(deps.tokenCounter));
  const { budget } = input;
  const snippetChars = options.snippetChars ?? DEFAULT_SNIPPET_CHARS;
  const mergeOptions = {
    maxOverlapChars: options.maxOverlapChars ?? DEFAULT_MAX_OVERLAP_CHARS,
    minOverlapChars: options.minOverlapChars ?? DEFAULT_MIN_OVERLAP_CHARS,
  };

  // Fixed parts: BOS, the system head as a message, the question as a message.
  const head = systemHead(input.systemPrompt);
  const systemTokens = PROMPT_OVERHEAD_TOKENS + messageTokens(head, tc);
  const questionTokens = messageTokens(input.question, tc);
  const fixed = systemTokens + questionTokens;
  if (fixed > budget) throw contextTooSmall(budget, fixed, 'the system prompt and the question alone exceed the budget');
  const rest = budget - fixed;

  // The newest turn is reserved first, counted exactly; older turns are planned with their stored token counts.
  const recent = newestFirst(input.recent);
  const newest = recent[0];
  const newestTokens = newest === undefined ? 0 : messageTokens(newest.content, tc);
  if (newestTokens > rest) {
    throw contextTooSmall(budget, fixed + newestTokens, 'the budget cannot hold the newest message of the session');
  }
  const shared: Shared = {
    input,
    tc,
    rest,
    newest,
    newestTokens,
    costOf: (t: TurnCandidate) => (t === newest ? newestTokens : turnMessageTokens(t)),
    head,
    passages: mergeCandidates(input.retrieved, mergeOptions),
    systemTokens,
    questionTokens,
    snippetChars,
  };

  // No part shown twice: with the summary placed, the window shows only the turns after those it covers (the newest
  // turn excepted: it is always shown); when the window can show every turn the summary covers, the summary is left out.
  const summary = input.summary !== null && input.summary.text.trim() !== '' ? input.summary : null;
  const oldest = recent[recent.length - 1];
  if (summary === null || oldest === undefined || oldest.seq > summary.coversThroughSeq) return planAndRender(shared, summary, recent);
  let verbatim: BuiltContext | undefined;
  if (oldest.seq <= 1) {
    verbatim = planAndRender(shared, null, recent);
    if (verbatim.windowSeqs[0] === oldest.seq) return verbatim;
  }
  const newer = Math.max(
    1,
    recent.findIndex((t) => t.seq <= summary.coversThroughSeq),
  );
  const summarised = planAndRender(shared, summary, recent.slice(0, newer));
  return summarised.summaryCoversThroughSeq !== null ? summarised : (verbatim ?? planAndRender(shared, null, recent));
}

/** What every plan of one build shares. */
interface Shared {
  input: BuildContextInput;
  tc: CountTokens;
  /** Tokens left after the fixed parts. */
  rest: number;
  newest: TurnCandidate | undefined;
  newestTokens: number;
  costOf: (t: TurnCandidate) => number;
  head: string;
  passages: Passage[];
  systemTokens: number;
  questionTokens: number;
  snippetChars: number;
}

/**
 * Plans, renders and fits one context: `summary` (or none) and a window drawn from `turns` (newest first, starting
 * with the newest turn; the window never reaches past them).
 */
function planAndRender(shared: Shared, summary: BuildContextInput['summary'], turns: readonly TurnCandidate[]): BuiltContext {
  const { input, tc, newest, newestTokens, costOf, passages } = shared;
  const { budget } = input;

  // Needs: every candidate of a part formatted, plus the blank line that joins its block to the system message.
  const separatorTokens = tc.count(BLOCK_SEPARATOR);
  const withSeparator = (need: number) => (need > 0 ? need + separatorTokens : 0);
  const newestSeq = new Set(newest === undefined ? [] : [newest.seq]);
  const allocation = allocate({
    available: shared.rest - newestTokens,
    shares: input.shares,
    needs: {
      retrieved: withSeparator(retrievedNeed(passages, tc)),
      summary: withSeparator(summaryNeed(summary, tc)),
      recalled: withSeparator(recalledNeed(recallCandidates(input.recalled, newestSeq), tc)),
    },
    windowNeed: turns.reduce((sum, t) => sum + costOf(t), 0) - newestTokens,
  });
  const blockGrant = (grant: number) => Math.max(0, grant - separatorTokens);

  const window = selectWindow(turns, allocation.window + newestTokens, costOf);
  const windowSeqs = new Set(window.turns.map((t) => t.seq));
  const recalled = selectRecalled(input.recalled, windowSeqs, blockGrant(allocation.recalled), tc);
  const summaryPlaced = summary !== null && summaryNeed(summary, tc) <= blockGrant(allocation.summary);
  const placement = placePassages(passages, blockGrant(allocation.retrieved), tc);
  const plan: Plan = { windowTaken: window.taken, recalled: recalled.ranked, summaryPlaced, placed: [...placement.placed] };

  const render = (): Rendered => renderPlan(plan, turns, shared.head, input.question, summary);
  let rendered = render();
  let used = countMessages(rendered.messages, tc);

  // What the parts left unused extends the window back; a recalled turn it reaches moves into the window.
  // (entryTokens holds exactly the placed recalled turns, so a turn's recall entry is what moving it frees.)
  if (used < budget && plan.windowTaken < turns.length) {
    const extended = extendWindow(
      turns,
      plan.windowTaken,
      budget - used,
      (turn) => costOf(turn) - (recalled.entryTokens.get(turn.seq) ?? 0),
    );
    if (extended.taken > plan.windowTaken) {
      const moved = new Set(turns.slice(plan.windowTaken, extended.taken).map((turn) => turn.seq));
      plan.recalled = plan.recalled.filter((turn) => !moved.has(turn.seq));
      plan.windowTaken = extended.taken;
      rendered = render();
      used = countMessages(rendered.messages, tc);
    }
  }

  // Exact fit: drop the lowest-priority items until the real count is within the budget.
  while (used > budget) {
    const excess = used - budget;
    let freed = 0;
    while (freed < excess) {
      const dropped = dropLowestPriority(plan, turns, costOf, recalled.entryTokens, placement, summary, tc);
      if (dropped === undefined) {
        if (freed > 0) break;
        throw contextTooSmall(budget, used, 'the context does not fit the budget even without optional parts');
      }
      freed += Math.max(1, dropped);
    }
    rendered = render();
    used = countMessages(rendered.messages, tc);
  }

  const windowTokens = rendered.window.reduce((s, t) => s + messageTokens(t.content, tc), 0);
  const blockTokens = (block: string) => (block === '' ? 0 : tc.count(block));
  return {
    messages: rendered.messages,
    context: {
      budget,
      used,
      parts: {
        system: shared.systemTokens,
        summary: blockTokens(rendered.blocks.summary),
        recalled: blockTokens(rendered.blocks.recalled),
        retrieved: blockTokens(rendered.blocks.retrieved),
        window: windowTokens,
        question: shared.questionTokens,
      },
    },
    citations: citationsFor(plan.placed, shared.snippetChars),
    windowSeqs: rendered.window.map((t) => t.seq),
    recalledSeqs: rendered.recalled.map((t) => t.seq),
    summaryCoversThroughSeq: plan.summaryPlaced && summary !== null ? summary.coversThroughSeq : null,
  };
}

function renderPlan(
  plan: Plan,
  recent: readonly TurnCandidate[],
  head: string,
  question: string,
  summary: BuildContextInput['summary'],
): Rendered {
  const window = recent.slice(0, plan.windowTaken).reverse();
  const recalled = inTimeOrder(plan.recalled);
  const blocks = {
    summary: plan.summaryPlaced && summary !== null ? formatSummaryBlock(summary) : '',
    recalled: formatRecalledBlock(recalled),
    retrieved: formatRetrievedBlock(plan.placed),
  };
  const messages: ChatMessage[] = [
    { role: 'system', content: composeSystemMessage(head, [blocks.summary, blocks.recalled, blocks.retrieved]) },
    ...window.map((t): ChatMessage => ({ role: t.role, content: t.content })),
    { role: 'user', content: question },
  ];
  return { messages, window, recalled, blocks };
}

/** Removes the lowest-priority placed item from the plan; returns its planning cost, or undefined if none is left. */
function dropLowestPriority(
  plan: Plan,
  recent: readonly TurnCandidate[],
  costOf: (t: TurnCandidate) => number,
  recalledTokens: ReadonlyMap<number, number>,
  placement: { passageTokens: readonly number[] },
  summary: BuildContextInput['summary'],
  tc: CountTokens,
): number | undefined {
  if (plan.windowTaken > 1) {
    plan.windowTaken--;
    return costOf(recent[plan.windowTaken]);
  }
  const worst = plan.recalled.pop();
  if (worst !== undefined) return recalledTokens.get(worst.seq) ?? 1;
  if (plan.placed.length > 0) {
    plan.placed.pop();
    return placement.passageTokens[plan.placed.length] ?? 1;
  }
  if (plan.summaryPlaced && summary !== null) {
    plan.summaryPlaced = false;
    return summaryNeed(summary, tc);
  }
  return undefined;
}

/** A copy of `recent` sorted newest first, one turn per seq. */
function newestFirst(recent: readonly TurnCandidate[]): TurnCandidate[] {
  const seen = new Set<number>();
  return [...recent].sort((a, b) => b.seq - a.seq).filter((t) => (seen.has(t.seq) ? false : (seen.add(t.seq), true)));
}

function contextTooSmall(budget: number, required: number, message: string): AppError {
  return new AppError('context_too_small', `${message}: ${required} tokens needed, budget ${budget}`, {
    budget,
    required,
  });
}

function validateInput(input: BuildContextInput): void {
  if (!Number.isInteger(input.budget) || input.budget <= 0) {
    throw invalidRequest('the context budget must be a positive integer', { budget: input.budget });
  }
  validateShares(input.shares);
  if (typeof input.question !== 'string' || input.question.trim() === '') {
    throw invalidRequest('the question must be a non-empty string');
  }
}
