import { AppError } from '../errors';
import type { GatewayChatResult } from '../gateway/model-gateway';
import type { ContextBreakdown } from '../context/context-types';
import type { MessageCitation } from '../stores/session/session-types';
import { DEFAULT_COLLECTION } from '../core/collections';
import { timed, type StageTimings } from '../infra/stage-timings';
import { prepareContext, type ContextRequest, type PreparedContext } from './prepare-context';
import type { SessionDeps } from './session-deps';

export interface AskAnswer {
  answer: string;
  messageId: string;
  citations: MessageCitation[];
  context: ContextBreakdown;
  usage: { promptTokens: number; completionTokens: number; costUsd: number };
  model: string;
}

export type AskEvent =
  { type: 'context'; context: ContextBreakdown } | { type: 'delta'; text: string } | { type: 'done'; answer: AskAnswer };

/** Builds the context, calls the chat model, then stores the question and the answer together. */
export async function askSession(
  deps: SessionDeps,
  tenant: string,
  sessionId: string,
  req: ContextRequest,
  signal?: AbortSignal,
  timings?: StageTimings,
): Promise<AskAnswer> {
  const askedAt = new Date().toISOString();
  const prepared = await prepareWithTurn(deps, tenant, sessionId, req, signal, timings);
  const result = await timed(timings, 'model', () => deps.gateway.chat(chatRequest(tenant, req, prepared, signal)));
  return timed(timings, 'store', () => storeTurn(deps, tenant, sessionId, req, prepared, askedAt, result, signal));
}

/**
 * The same as askSession, streamed: the context breakdown first, then the answer's deltas, then the stored answer.
 * A client that goes away aborts `signal`: the model call is cancelled and nothing is stored.
 */
export async function* askSessionStream(
  deps: SessionDeps,
  tenant: string,
  sessionId: string,
  req: ContextRequest,
  signal: AbortSignal,
): AsyncGenerator<AskEvent> {
  const askedAt = new Date().toISOString();
  const prepared = await prepareWithTurn(deps, tenant, sessionId, req, signal);
  yield { type: 'context', context: prepared.built.context };
  for await (const event of deps.gateway.chatStream(chatRequest(tenant, req, prepared, signal))) {
    if (event.type === 'delta') {
      yield event;
      continue;
    }
    yield { type: 'done', answer: await storeTurn(deps, tenant, sessionId, req, prepared, askedAt, event.result, signal) };
    return;
  }
}

/**
 * Building the context is the work of an ask (its store searches are the CPU; the model call mostly waits): it takes
 * the tenant's turn at this process like a search does (the HTTP turn middleware leaves asks out), so one tenant's
 * flood of asks cannot fill the store's threads in front of other tenants' searches and asks. The turn is given back
 * before the model is called.
 */
async function prepareWithTurn(
  deps: SessionDeps,
  tenant: string,
  sessionId: string,
  req: ContextRequest,
  signal?: AbortSignal,
  timings?: StageTimings,
) {
  const release = deps.fairScheduler?.enabled
    ? await timed(timings, 'turn', () =>
        deps.fairScheduler!.enter(tenant, (cancel) => signal?.addEventListener('abort', cancel, { once: true })),
      )
    : undefined;
  try {
    return await prepareContext(deps, tenant, sessionId, req, signal, timings);
  } finally {
    release?.();
  }
}

function chatRequest(tenant: string, req: ContextRequest, prepared: PreparedContext, signal?: AbortSignal) {
  const { used } = prepared.built.context;
  return {
    tenant,
    purpose: 'chat' as const,
    messages: prepared.built.messages,
    // Counted by the context builder: countMessages(messages) is `used` exactly.
    promptTokens: used,
    // A pinned model is called without fallback; otherwise the chat route (with its fallbacks) decides.
    model: req.model,
    // What the prompt left of min(maxContextTokens, context window): the reserve, or more when the prompt came out smaller.
    maxTokens: Math.max(1, Math.min(prepared.model.maxOutputTokens, prepared.limit - used)),
    signal,
  };
}

async function storeTurn(
  deps: SessionDeps,
  tenant: string,
  sessionId: string,
  req: ContextRequest,
  prepared: PreparedContext,
  askedAt: string,
  result: GatewayChatResult,
  signal?: AbortSignal,
): Promise<AskAnswer> {
  // A client gone by now asked for nothing: store nothing rather than an answer nobody saw.
  if (signal?.aborted) throw new AppError('client_closed_request', 'The client closed the request');
  const citations = citationsUsed(result.text, prepared.built.citations);
  const usage = { promptTokens: result.usage.promptTokens, completionTokens: result.usage.completionTokens, costUsd: result.costUsd };
  const appended = await deps.sessions.append(
    tenant,
    sessionId,
    [
      { role: 'user', content: req.question, createdAt: askedAt, tokenCount: deps.tokenCounter.count(req.question) },
      {
        role: 'assistant',
        content: result.text,
        tokenCount: deps.tokenCounter.count(result.text),
        citations,
        model: result.modelId,
        usage,
      },
    ],
    { collection: req.collection ?? DEFAULT_COLLECTION },
    { expectGeneration: prepared.session?.generation },
  );
  if (!appended) throw new AppError('session_deleted', 'The session was deleted while this answer was being made; nothing was stored');
  try {
    await deps.memoryProducer.afterAppend(tenant, appended.session);
  } catch (err) {
    // The turn is stored; the next append schedules the memory work again.
    deps.logger.warn({ err: (err as Error).message, sessionId }, 'could not schedule session memory jobs');
  }
  return {
    answer: result.text,
    messageId: appended.messages[1].id,
    citations,
    context: prepared.built.context,
    usage,
    model: result.modelId,
  };
}

/** The citations whose markers the answer uses (`[2]`, `[1][3]`, `[1, 3]`), in marker order. */
export function citationsUsed(answer: string, offered: MessageCitation[]): MessageCitation[] {
  const used = new Set<string>();
  for (const m of answer.matchAll(/\[([0-9][0-9,\s]*)\]/g)) for (const marker of m[1].split(/[,\s]+/)) if (marker) used.add(marker);
  return offered.filter((c) => used.has(c.marker));
}
