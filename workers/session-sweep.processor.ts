import { sweepExpiredSessions, type SweepDeps } from '../src/sessions/sweep-expired-sessions';

/** Thin processor: one sweep of the expiry index per scheduled run. */
export function createSessionSweepProcessor(deps: SweepDeps) {
  return async () => sweepExpiredSessions(deps);
}
