import type { SessionRecord } from './session-types';

/**
 * Messages older than the kept-recent ones that the summary does not cover yet: what decides whether a session needs
 * summarising (the queue asks it before enqueueing, the summariser while it works).
 */
export function pendingSummaryMessages(session: Pick<SessionRecord, 'lastSeq' | 'summary'>, keepRecentMessages: number): number {
  return Math.max(0, session.lastSeq - keepRecentMessages - (session.summary?.coversThroughSeq ?? 0));
}
