import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { IngestProducer } from '../../queues/ingest-queue';
import { QueueNames, type QueueName } from '../../queues/queue-names';
import type { ReindexProducer } from '../../queues/reindex-queue';
import type { SessionMemoryProducer } from '../../queues/session-memory-queue';
import type { Authenticator } from '../../tenancy/authenticator';
import { adminAccess, requireAdminKey } from '../middleware/admin-auth';
import { notFoundRoute } from '../middleware/error-handler';
import { ADMIN_QUEUES_PATH } from '../openapi/openapi-document';
import { listedRouter, type ListedRouter } from './listed-router';

/** The queue handles the dashboard shows; the composition root owns (and closes) every one of them. */
export interface AdminQueuesDeps {
  config: Readonly<Pick<Config, 'apiKeys' | 'adminApiKey'>>;
  logger: Logger;
  /** Says whether any key exists now (keys in Redis may appear after startup). */
  authenticator: Authenticator;
  producer: IngestProducer;
  memoryProducer: SessionMemoryProducer;
  reindexProducer: ReindexProducer;
  /** Only workers schedule the sweep; the API process holds a handle for the dashboard alone. */
  sessionSweepQueue: Queue;
}

/** Keyed by every queue name, so a queue added to QueueNames without a dashboard entry does not compile. */
function dashboardQueues(deps: AdminQueuesDeps): Record<QueueName, Queue> {
  return {
    [QueueNames.ingest]: deps.producer.queue,
    [QueueNames.summarize]: deps.memoryProducer.summarizeQueue,
    [QueueNames.recallIndex]: deps.memoryProducer.recallQueue,
    [QueueNames.sessionSweep]: deps.sessionSweepQueue,
    [QueueNames.reindex]: deps.reindexProducer.queue,
  };
}

/**
 * The BullMQ dashboard (bull-board) at /admin/queues: its page, assets and JSON API (`/admin/queues/api/...`). It shows
 * every tenant's jobs and payloads, so it has its own key (see admin-auth.ts), checked before bull-board sees a request.
 * Without ADMIN_API_KEY it can only ever be read (no retry, clean or delete), and only while no key exists at all.
 */
export function adminQueuesRouter(deps: AdminQueuesDeps): ListedRouter {
  const router = listedRouter();
  const access = adminAccess(deps.config);
  if (access.mode === 'disabled') {
    deps.logger.info(`ADMIN_API_KEY is not set: the queue dashboard ${ADMIN_QUEUES_PATH} is disabled`);
    router.use(ADMIN_QUEUES_PATH, notFoundRoute);
    return router;
  }
  const readOnly = access.mode === 'open';
  if (readOnly) {
    deps.logger.warn(`ADMIN_API_KEY is not set: the queue dashboard ${ADMIN_QUEUES_PATH} is read-only and open while no API key exists`);
  }

  const serverAdapter = new ExpressAdapter().setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({
    queues: Object.values(dashboardQueues(deps)).map((queue) => new BullMQAdapter(queue, { readOnlyMode: readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ragmem queues' } },
  });
  // bull-board answers from its own Express app, which would otherwise announce itself like ours does not.
  const board = serverAdapter.getRouter() as Express;
  board.disable('x-powered-by');
  const guard: RequestHandler =
    access.mode === 'key'
      ? requireAdminKey(access.key)
      : // Open mode: keys created in Redis after startup turn auth on, and the dashboard then stops existing (as `disabled`).
        async (req, res, next) => ((await deps.authenticator.authOff()) ? next() : notFoundRoute(req, res, next));
  router.use(ADMIN_QUEUES_PATH, guard, board);
  return router;
}
