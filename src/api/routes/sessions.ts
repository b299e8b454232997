import type { Request, Response } from 'express';
import { AppError, tooLarge } from '../../errors';
import { askSession, askSessionStream } from '../../sessions/ask';
import { toAppError } from '../middleware/error-handler';
import { serverTimingHeader, type StageTimings } from '../../infra/stage-timings';
import { prepareContext } from '../../sessions/prepare-context';
import { deleteSession, getSession, importMessages, listMessages } from '../../sessions/session-history';
import type { SessionDeps } from '../../sessions/session-deps';
import type { Metrics } from '../../infra/metrics';
import { tenantOf } from '../middleware/auth';
import { DEFAULT_COLLECTION } from '../../core/collections';
import { askSchema, createSessionSchema, importMessagesSchema, listMessagesQuery, sessionIdParam } from '../schemas/sessions';
import { clientGone, EventStream } from '../sse';
import {
  toAskAnswerView,
  toContextBreakdownView,
  toContextPreview,
  toMessageView,
  toSessionView,
  type AskStreamEvents,
  type MessageList,
  type MessagesAppended,
} from '../views/session-views';
import { listedRouter, type ListedRouter } from './listed-router';

export function sessionsRouter(deps: SessionDeps & { metrics: Pick<Metrics, 'askStage' | 'asksTotal'> }): ListedRouter {
  const router = listedRouter();
  const limits = deps.config.sessions;

  router.post('/sessions', async (req, res) => {
    const body = createSessionSchema.parse(req.body ?? {});
    const { session, created } = await deps.sessions.create(tenantOf(res), body, { collection: DEFAULT_COLLECTION });
    if (!created) throw new AppError('session_exists', `A session "${session.id}" already exists`, { id: session.id });
    res.status(201).json(toSessionView(session));
  });

  router.get('/sessions/:id', async (req, res) => {
    const { id } = sessionIdParam.parse(req.params);
    res.json(toSessionView(await getSession(deps, tenantOf(res), id)));
  });

  router.get('/sessions/:id/messages', async (req, res) => {
    const { id } = sessionIdParam.parse(req.params);
    const q = listMessagesQuery.parse(req.query);
    const page = await listMessages(deps, tenantOf(res), id, q.limit, q.beforeSeq);
    res.json({ messages: page.messages.map(toMessageView), nextBeforeSeq: page.nextBeforeSeq } satisfies MessageList);
  });

  router.post('/sessions/:id/messages', async (req, res) => {
    const { id } = sessionIdParam.parse(req.params);
    const count = Array.isArray(req.body?.messages) ? req.body.messages.length : 0;
    if (count > limits.maxImportMessages) {
      throw tooLarge('too_many_messages', `An import holds at most ${limits.maxImportMessages} messages; split it (got ${count})`, {
        max: limits.maxImportMessages,
        got: count,
      });
    }
    const body = importMessagesSchema.parse(req.body);
    const result = await importMessages(deps, tenantOf(res), id, body.messages);
    res.status(201).json({ appended: result.appended, lastSeq: result.lastSeq } satisfies MessagesAppended);
  });

  router.post('/sessions/:id/context', async (req, res) => {
    const { id } = sessionIdParam.parse(req.params);
    const body = parseAsk(req, limits.maxQuestionChars);
    const timings: StageTimings = {};
    const { built } = await prepareContext(deps, tenantOf(res), id, body, clientGone(res), timings);
    res.setHeader('Server-Timing', serverTimingHeader(timings));
    res.json(toContextPreview(built));
  });

  router.post('/sessions/:id/ask', async (req, res) => {
    const { id } = sessionIdParam.parse(req.params);
    const body = parseAsk(req, limits.maxQuestionChars);
    const signal = clientGone(res);
    const stream = body.stream || req.accepts(['application/json', 'text/event-stream']) === 'text/event-stream';
    // Counted once the ask has ended, whatever its end: an operator's answered/failed ratio, and a witness that an
    // ask cut short has finished all it will ever do.
    const ended = (outcome: string) => deps.metrics.asksTotal.inc({ mode: stream ? 'stream' : 'json', outcome });
    try {
      if (stream) {
        ended(await streamAnswer(res, askSessionStream(deps, tenantOf(res), id, body, signal)));
        return;
      }
      const timings: StageTimings = {};
      const answer = await askSession(deps, tenantOf(res), id, body, signal, timings);
      for (const [stage, ms] of Object.entries(timings)) deps.metrics.askStage.observe({ stage }, ms / 1000);
      res.setHeader('Server-Timing', serverTimingHeader(timings));
      res.json(toAskAnswerView(answer));
      ended('answered');
    } catch (err) {
      ended(toAppError(err).code);
      throw err;
    }
  });

  router.delete('/sessions/:id', async (req, res) => {
    const { id } = sessionIdParam.parse(req.params);
    await deleteSession(deps, tenantOf(res), id);
    res.status(204).end();
  });

  return router;
}

function parseAsk(req: Request, maxQuestionChars: number) {
  const question: unknown = req.body?.question;
  if (typeof question === 'string' && question.length > maxQuestionChars) {
    throw tooLarge('question_too_large', `A question holds at most ${maxQuestionChars} characters (got ${question.length})`, {
      max: maxQuestionChars,
      got: question.length,
    });
  }
  return askSchema.parse(req.body ?? {});
}

/**
 * Failures before the first event (bad model name, context_too_small, a store down) answer with their HTTP status like
 * any request; once the stream is open they end it with an `error` event. Answers how the stream ended.
 */
async function streamAnswer(res: Response, events: ReturnType<typeof askSessionStream>): Promise<string> {
  const first = await events.next();
  const stream = new EventStream<AskStreamEvents>(res);
  try {
    for (let step = first; !step.done; step = await events.next()) {
      const e = step.value;
      if (e.type === 'context') stream.send('context', toContextBreakdownView(e.context));
      else if (e.type === 'delta') stream.send('delta', { text: e.text });
      else stream.send('done', toAskAnswerView(e.answer));
    }
    stream.end();
    return 'answered';
  } catch (err) {
    stream.fail(err);
    return toAppError(err).code;
  }
}
