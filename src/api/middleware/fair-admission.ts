import type { RequestHandler } from 'express';
import type { FairScheduler } from '../../tenancy/fair-scheduler';
import { tenantOf } from './auth';

/**
 * After authentication and the body parser: the request waits for its tenant's turn (see FairScheduler) and holds its
 * place until the response ends or the client goes away. Asks are left out here: they spend seconds waiting for a
 * model, not working, and would hold places others need; they take a turn for building their context only (ask.ts).
 * Multipart uploads too: their bodies are read inside the route, at the client's pace (MAX_INFLIGHT_UPLOAD_BYTES
 * bounds them).
 */
export function fairAdmission(scheduler: FairScheduler): RequestHandler {
  if (!scheduler.enabled) return (_req, _res, next) => next();
  return async (req, res, next) => {
    if (/\/ask$/.test(req.path) || req.is('multipart/form-data')) return next();
    if (res.closed || req.destroyed) return next();
    const release = await scheduler.enter(tenantOf(res), (cancel) => res.once('close', cancel));
    res.once('finish', release);
    res.once('close', release);
    next();
  };
}
