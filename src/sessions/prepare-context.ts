import { AppError } from '../errors';
import { buildContext } from '../context/build-context';
import { turnMessageTokens } from '../context/window';
import type { BuiltContext, TurnCandidate } from '../context/context-types';
import { searchWithOptions } from '../search/search-options';
import type { SessionRecord, StoredMessage } from '../stores/session/session-types';
import type { SearchFilter } from '../stores/vector/vector-store';
import type { ModelSpec } from '../gateway/model-registry';
import { DEFAULT_COLLECTION } from '../core/collections';
import { timed, type StageTimings } from '../infra/stage-timings';
import { searchQuery } from './retrieval-query';
import { DEFAULT_RECALL_OPTIONS, recallTurns } from './recall-turns';
import type { SessionDeps } from './session-deps';

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant. Answer the user from the conversation so far and from the provided sources. ' +
  'When the sources do not hold the answer, say so plainly instead of guessing.';

/** Newest messages read per round trip while filling the window. */
const RECENT_PAGE = 64;
/**
 * Recall asks once more, for more hits, when a built context leaves more than this share of the budget unused (LoCoMo
 * at 8,192 tokens left about 40%, the window stopping at the turns the summary covers, every candidate placed) ...
 */
const ROOM_FOR_MORE_RECALL = 0.1;
/** ... at most this many times RECALL_K hits. */
const MAX_RECALL_GROWTH = 4;

export interface ContextRequest {
  question: string;
  k: number;
  collection?: string;
  filter?: SearchFilter;
  /** MMR over the retrieved chunks, so near-duplicates do not crowd other sources out of the context. */
  diversity?: { lambda: number };
  maxContextTokens?: number;
  model?: string;
}

export interface PreparedContext {
  /** undefined: the session does not exist yet (ask creates it when it stores the turn). */
  session: SessionRecord | undefined;
  model: ModelSpec;
  /** min(maxContextTokens, the model's window): prompt and answer together stay under it. */
  limit: number;
  built: BuiltContext;
}

/**
 * Fetches what the context protocol needs (summary, the newest messages, recall hits, retrieved chunks) and builds the
 * prompt under the budget. Retrieval and recall run concurrently; history is read from the newest end only, so the
 * cost grows with the window, not with the length of the conversation.
 */
export async function prepareContext(
  deps: SessionDeps,
  tenant: string,
  sessionId: string,
  req: ContextRequest,
  signal?: AbortSignal,
  timings?: StageTimings,
): Promise<PreparedContext> {
  const cfg = deps.config.sessions.context;
  const model = deps.gateway.primary('chat', req.model);
  const session = await timed(timings, 'session', () => deps.sessions.get(tenant, sessionId));
  const requested = req.maxContextTokens ?? session?.maxContextTokens ?? cfg.maxTokens;
  const answerTokens = Math.min(cfg.answerTokens, model.maxOutputTokens || cfg.answerTokens);
  const limit = Math.min(requested, model.contextWindow);
  const budget = limit - answerTokens;

  if (budget < 1) {
    throw new AppError(
      'context_too_small',
      `maxContextTokens ${requested} leaves no room for a prompt after the ${answerTokens} tokens reserved for the answer`,
      {
        maxContextTokens: requested,
        answerTokens,
      },
    );
  }
  const recent = session ? await timed(timings, 'history', () => readRecent(deps, tenant, session, budget)) : [];
  const query = searchQuery(req.question, recent);
  const collection = req.collection ?? session?.collection ?? DEFAULT_COLLECTION;

  const retrieving = req.k > 0;
  const recalling = session !== undefined && session.recallIndexedThroughSeq > 0;
  // The question is embedded at most once for both searches, and only if one of them needs it (a collection reindexed
  // onto another model embeds it with that model instead).
  let embedded: Promise<Float32Array> | undefined;
  const vector = () => (embedded ??= deps.embedder.embed([req.question], { signal, tenant }).then((vectors) => vectors[0]));

  // A conversation read to its first message may fit the window whole, and then recall has nothing to add: its search
  // (a store query per question) waits until the build shows that older turns were left out.
  const wholeHistoryRead = session !== undefined && recent.length === session.lastSeq;
  const recall = (s: SessionRecord, k = cfg.recallK) =>
    recallTurns(deps, tenant, s, req.question, k, recent, vector, deps.recall ?? DEFAULT_RECALL_OPTIONS);
  const recallNow = recalling && !wholeHistoryRead;
  const [retrieved, recalledNow] = await Promise.all([
    retrieving
      ? timed(timings, 'retrieve', () =>
          searchWithOptions(
            deps,
            tenant,
            { query, k: req.k, collection, mode: 'hybrid', filter: req.filter, vector: query === req.question ? vector : undefined },
            { diversity: req.diversity },
            signal,
          ),
        )
      : Promise.resolve([]),
    recallNow ? timed(timings, 'recall', () => recall(session)) : Promise.resolve(undefined),
  ]);

  const build = (recalled: TurnCandidate[]) =>
    buildContext(
      {
        systemPrompt: session?.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
        question: req.question,
        budget,
        shares: cfg.shares,
        retrieved,
        summary: session?.summary ?? null,
        recalled,
        recent,
      },
      { tokenCounter: deps.tokenCounter },
    );
  let recalled = recalledNow;
  let built = await timed(timings, 'build', async () => build(recalled?.turns ?? []));
  if (recalling && !recallNow && built.windowSeqs[0] !== 1) {
    recalled = await timed(timings, 'recall', () => recall(session));
    built = await timed(timings, 'build', async () => build(recalled!.turns));
  }
  // A roomy budget can hold every candidate and still have room (the window stops at the turns a summary covers):
  // recall once more, with as many more hits as the room would hold at the recalled block's tokens per hit.
  const room = budget - built.context.used;
  const perHit = recalled !== undefined && recalled.hits > 0 ? built.context.parts.recalled / recalled.hits : 0;
  if (recalled !== undefined && recalled.hits >= cfg.recallK && room >= ROOM_FOR_MORE_RECALL * budget && perHit > 0) {
    const k = Math.min(cfg.recallK * MAX_RECALL_GROWTH, Math.ceil(cfg.recallK + room / perHit));
    const more = await timed(timings, 'recall', () => recall(session!, k));
    built = await timed(timings, 'build', async () => build(more.turns));
  }
  return { session, model, limit, built };
}

/** The newest messages, newest first, until they hold more tokens than the budget (or the history ends). */
async function readRecent(deps: SessionDeps, tenant: string, session: SessionRecord, budget: number): Promise<TurnCandidate[]> {
  const out: TurnCandidate[] = [];
  let tokens = 0;
  let to = session.lastSeq;
  while (to >= 1 && tokens <= budget) {
    const from = Math.max(1, to - RECENT_PAGE + 1);
    const page = await deps.sessions.range(tenant, session.id, from, to);
    for (let i = page.length - 1; i >= 0; i--) {
      const turn = toTurn(page[i]);
      out.push(turn);
      tokens += turnMessageTokens(turn);
    }
    to = from - 1;
  }
  return out;
}

const toTurn = (m: StoredMessage): TurnCandidate => ({
  seq: m.seq,
  role: m.role,
  content: m.content,
  createdAt: m.createdAt,
  tokenCount: m.tokenCount,
});
