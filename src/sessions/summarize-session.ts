import type { ModelGateway } from '../gateway/model-gateway';
import type { TokenCounter } from '../core/tokens/token-counter';
import type { SessionStore } from '../stores/session/session-store';
import type { SessionRecord, SessionSummary, StoredMessage } from '../stores/session/session-types';
import { drainSessionWork, type SessionRef } from './drain-session-work';
import { pendingSummaryMessages } from '../stores/session/pending-summary';

/** Tokens of turns folded per model call (at least one message, however long). */
export const DEFAULT_SUMMARY_BATCH_TOKENS = 3000;
/** Messages read from the session store at a time while a batch is filled. */
export const DEFAULT_SUMMARY_PAGE_SIZE = 64;
/** The per-session lock's lifetime; setSummary is compare-and-set, so a holder outliving it cannot move it backwards. */
export const DEFAULT_SUMMARY_LOCK_TTL_MS = 120_000;
/**
 * A summary past this share of maxTokens is condensed to half of maxTokens. Each fold's output is capped at
 * maxTokens (the model stops there; the offline summariser drops facts to fit), so waiting until the summary exceeds
 * maxTokens would never condense and would leave the next fold no room for new facts.
 */
export const DEFAULT_CONDENSE_AT_SHARE = 0.75;
export const SUMMARY_LOCK = 'summary';
/**
 * A summary should say what the turns say, not vary it: temperature 0. It also lets the gateway's chat cache
 * (CHAT_CACHE=on) answer a fold it has already made, when a retried job or a copied session asks again.
 */
const SUMMARY_TEMPERATURE = 0;

/**
 * Later questions ask for who, where, when and how many: the instructions name those facts (names, places, dates,
 * numbers) and who said them, and send greetings and small talk away. No figure: it asks a real model, which the
 * memory evaluation cannot run offline.
 */
export const FOLD_INSTRUCTIONS =
  'You maintain the running summary of a conversation. Update the summary with the new turns below: keep every ' +
  'name, place, date, number, decision and commitment, from the previous summary and from the new turns, with who ' +
  'said it and when it happened (write dates as dates, not "yesterday"); drop greetings, thanks and small talk. ' +
  'Write in the third person, oldest facts first. Output only the updated summary, nothing else.';

export const CONDENSE_INSTRUCTIONS =
  'Summarize this conversation summary more briefly. Keep names, places, dates, numbers and decisions, with who they ' +
  'concern; merge repeated facts and drop the least important details. Output only the shortened summary, nothing else.';

export interface SummaryPolicy {
  /** The newest messages left out of the summary (the recent window shows them verbatim). */
  keepRecentMessages: number;
  /** Summarise once at least this many older messages are outside the summary. */
  triggerMessages: number;
  /** Summary size cap in tokens. */
  maxTokens: number;
}

export interface SummarizeSessionDeps {
  sessions: Pick<SessionStore, 'get' | 'range' | 'setSummary' | 'tryLock' | 'unlock'>;
  gateway: Pick<ModelGateway, 'chat'>;
  tokenCounter: Pick<TokenCounter, 'count'>;
  summary: SummaryPolicy;
  batchTokens?: number;
  pageSize?: number;
  lockTtlMs?: number;
  /** Condense once the summary has more tokens than this; default `DEFAULT_CONDENSE_AT_SHARE` of maxTokens. */
  condenseAtTokens?: number;
  now?: () => Date;
}

export type SummarizeSessionInput = SessionRef;

export interface SummarizeSessionResult {
  /** Model calls that folded turns. */
  folds: number;
  condensed: number;
  /** The summary's coversThroughSeq when this call let go (undefined when the session is gone or recreated). */
  coversThroughSeq?: number;
  /** True when another job held the lock (it re-checks after releasing). */
  skipped: boolean;
}

/**
 * One line per turn, as the summarisers read them (offline-summarize.ts: a line starting `User:` is a new turn),
 * after an `On YYYY-MM-DD:` line wherever the day changes, so a model can turn "yesterday" into a date.
 */
export function renderTurns(messages: StoredMessage[]): string {
  const lines: string[] = [];
  let day = '';
  for (const m of messages) {
    const t = Date.parse(m.createdAt);
    const today = Number.isNaN(t) ? '' : new Date(t).toISOString().slice(0, 10);
    if (today !== '' && today !== day) lines.push(`On ${today}:`);
    day = today || day;
    lines.push(`${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content.replace(/\s*[\r\n]+\s*/g, ' ').trim()}`);
  }
  return lines.join('\n');
}

/** The user message of a fold: the previous summary (if any), a blank line, the new turns. */
export function foldInput(previousSummary: string, messages: StoredMessage[]): string {
  const turns = renderTurns(messages);
  return previousSummary.trim() === '' ? turns : `Previous summary: ${previousSummary.trim()}\n\n${turns}`;
}

/**
 * The rolling summary of a session: once `triggerMessages` older messages wait outside it, the oldest of them are
 * folded in, a batch of about `batchTokens` per model call, never touching the `keepRecentMessages` newest. Each fold
 * is written compare-and-set on coversThroughSeq, so a late or duplicate job cannot move the summary backwards; a
 * model failure throws (the queue retries) and never advances it, so no turn is ever skipped. A summary near its cap
 * is condensed by one more call over the summary alone.
 */
export async function summarizeSession(
  deps: SummarizeSessionDeps,
  input: SummarizeSessionInput,
  signal?: AbortSignal,
): Promise<SummarizeSessionResult> {
  const { keepRecentMessages, triggerMessages } = deps.summary;
  const result: SummarizeSessionResult = { folds: 0, condensed: 0, skipped: false };
  const outcome = await drainSessionWork(
    deps.sessions,
    {
      ...input,
      lock: { name: SUMMARY_LOCK, ttlMs: deps.lockTtlMs ?? DEFAULT_SUMMARY_LOCK_TTL_MS },
      pending: (session) => pendingSummaryMessages(session, keepRecentMessages) >= triggerMessages,
      // false: someone else moved the summary (or the messages are gone), theirs to finish.
      step: (session) => foldOnce(deps, session, result, signal),
    },
    signal,
  );
  if (outcome.kind === 'gone') return { ...result, coversThroughSeq: undefined };
  result.skipped = outcome.kind === 'busy' && result.folds === 0;
  result.coversThroughSeq = outcome.session ? (outcome.session.summary?.coversThroughSeq ?? 0) : undefined;
  return result;
}

/** Folds the oldest unsummarised batch into the summary. Answers whether the summary was written. */
async function foldOnce(
  deps: SummarizeSessionDeps,
  session: SessionRecord,
  result: SummarizeSessionResult,
  signal?: AbortSignal,
): Promise<boolean> {
  const { tenant, id, generation } = session;
  const { keepRecentMessages, maxTokens } = deps.summary;
  const budget = deps.batchTokens ?? DEFAULT_SUMMARY_BATCH_TOKENS;
  const pageSize = deps.pageSize ?? DEFAULT_SUMMARY_PAGE_SIZE;
  const covers = session.summary?.coversThroughSeq ?? 0;
  const limit = session.lastSeq - keepRecentMessages;

  // The oldest unsummarised messages, up to the token budget (at least one), never into the kept-recent ones.
  const batch: StoredMessage[] = [];
  let tokens = 0;
  let next = covers + 1;
  fill: while (next <= limit) {
    // The range stops at `limit`, so every message read may be summarised.
    const page = await deps.sessions.range(tenant, id, next, Math.min(limit, next + pageSize - 1));
    if (page.length === 0) break;
    for (const m of page) {
      if (batch.length > 0 && tokens + m.tokenCount > budget) break fill;
      batch.push(m);
      tokens += m.tokenCount;
    }
    next = page[page.length - 1].seq + 1;
  }
  if (batch.length === 0) return false;

  const previous = session.summary?.text ?? '';
  const folded = await deps.gateway.chat({
    tenant,
    purpose: 'summarize',
    messages: [
      { role: 'system', content: FOLD_INSTRUCTIONS },
      { role: 'user', content: foldInput(previous, batch) },
    ],
    maxTokens,
    temperature: SUMMARY_TEMPERATURE,
    signal,
  });
  let text = folded.text.trim();
  let tokenCount = deps.tokenCounter.count(text);
  result.folds++;

  const condenseAt = deps.condenseAtTokens ?? Math.floor(maxTokens * DEFAULT_CONDENSE_AT_SHARE);
  if (tokenCount > condenseAt) {
    const condensed = await deps.gateway.chat({
      tenant,
      purpose: 'summarize',
      messages: [
        { role: 'system', content: CONDENSE_INSTRUCTIONS },
        { role: 'user', content: text },
      ],
      maxTokens: Math.max(16, Math.floor(maxTokens / 2)),
      temperature: SUMMARY_TEMPERATURE,
      signal,
    });
    const shorter = condensed.text.trim();
    const shorterCount = deps.tokenCounter.count(shorter);
    // A condensation that came back empty or longer is ignored: the fold's own text is kept.
    if (shorter !== '' && shorterCount < tokenCount) {
      text = shorter;
      tokenCount = shorterCount;
      result.condensed++;
    }
  }

  const summary: SessionSummary = {
    text,
    coversThroughSeq: batch[batch.length - 1].seq,
    tokenCount,
    updatedAt: (deps.now?.() ?? new Date()).toISOString(),
  };
  return deps.sessions.setSummary(tenant, id, generation, summary, covers);
}
