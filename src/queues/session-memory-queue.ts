import { createHash } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import { z } from 'zod';
import { pendingSummaryMessages } from '../stores/session/pending-summary';
import type { SessionRecord } from '../stores/session/session-types';
import type { RequestIdSource } from '../infra/request-scope';
import { QueueNames, openQueue, requestIdField, withRequestId } from './queue-names';

/** One payload for both session-memory queues: the job re-reads the session, so it only names it. */
export const sessionMemoryJobSchema = z.object({
  tenant: z.string().min(1),
  sessionId: z.string().min(1),
  generation: z.string().min(1),
  requestId: requestIdField,
});
export type SessionMemoryJob = z.infer<typeof sessionMemoryJobSchema>;

/**
 * BullMQ custom ids may not contain ':' (nor be integers), and tenants and session ids may hold anything: the
 * session generation is named by a hash. The generation is part of it, so a recreated session never meets the
 * completed jobs of its predecessor.
 */
export function sessionKey(tenant: string, sessionId: string, generation: string): string {
  return createHash('sha256').update(`${tenant}\u0000${sessionId}\u0000${generation}`).digest('hex').slice(0, 32);
}

/** One job per (session generation, lastSeq): enqueueing after the same append twice returns the job already there. */
export const recallJobId = (job: SessionMemoryJob, lastSeq: number) =>
  `recall-${sessionKey(job.tenant, job.sessionId, job.generation)}-${lastSeq}`;
export const summarizeJobId = (job: SessionMemoryJob, lastSeq: number) =>
  `summarize-${sessionKey(job.tenant, job.sessionId, job.generation)}-${lastSeq}`;

export interface SummaryThresholds {
  keepRecentMessages: number;
  triggerMessages: number;
}

/**
 * Producer of a session's background memory work. Called after every append; never waits for the work itself, so
 * asks never wait on summaries or embeddings.
 */
export class SessionMemoryProducer {
  readonly summarizeQueue: Queue<SessionMemoryJob>;
  readonly recallQueue: Queue<SessionMemoryJob>;
  private closing?: Promise<void>;

  constructor(
    connection: RedisClient,
    prefix: string,
    private readonly defaults: JobsOptions,
    private readonly thresholds: SummaryThresholds,
    /** The request appending the messages (see RequestScope); its id rides in both jobs' payloads. */
    private readonly requestId?: RequestIdSource,
  ) {
    this.summarizeQueue = openQueue<SessionMemoryJob>(QueueNames.summarize, connection, prefix);
    this.recallQueue = openQueue<SessionMemoryJob>(QueueNames.recallIndex, connection, prefix);
  }

  /**
   * After messages were appended (`session` as the append answered it): a recall-index job always, a summarise job
   * once enough older messages wait outside the summary. Answers the ids of the jobs enqueued.
   */
  async afterAppend(tenant: string, session: SessionRecord): Promise<{ recallJobId?: string; summarizeJobId?: string }> {
    const job = sessionMemoryJobSchema.parse(
      withRequestId<SessionMemoryJob>({ tenant, sessionId: session.id, generation: session.generation }, this.requestId),
    );
    const out: { recallJobId?: string; summarizeJobId?: string } = {};
    const adds: Array<Promise<unknown>> = [];
    if (session.lastSeq > session.recallIndexedThroughSeq) {
      out.recallJobId = recallJobId(job, session.lastSeq);
      adds.push(this.recallQueue.add('recall-index', job, { ...this.defaults, jobId: out.recallJobId }));
    }
    if (pendingSummaryMessages(session, this.thresholds.keepRecentMessages) >= this.thresholds.triggerMessages) {
      out.summarizeJobId = summarizeJobId(job, session.lastSeq);
      adds.push(this.summarizeQueue.add('summarize', job, { ...this.defaults, jobId: out.summarizeJobId }));
    }
    await Promise.all(adds);
    return out;
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled([this.summarizeQueue.close(), this.recallQueue.close()]).then(() => undefined);
    return this.closing;
  }
}
