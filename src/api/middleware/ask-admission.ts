import type { RequestHandler } from 'express';
import { AppError } from '../../errors';

/**
 * Bounds the asks one API process works on at once (MAX_INFLIGHT_ASKS). Asks skip the fair scheduler (they mostly wait
 * on a model), so without this an overloaded process kept accepting them: under an open-loop 30 asks/s it could serve
 * 21, and every second queued nine more prepared prompts in memory, the API's RSS rising from 650 MB to 1.1 GB in 20 s.
 * Past the bound an ask answers 503 `asks_busy` with Retry-After at once, before any work, so a client or load
 * balancer can go elsewhere; the place is given back when the response ends or the client goes away.
 */
export function askAdmission(maxInflight: number, retryAfterSeconds = 1): RequestHandler & { inflight(): number } {
  let inflight = 0;
  const middleware = ((req, res, next) => {
    if (req.method !== 'POST' || !/^\/sessions\/[^/]+\/ask$/.test(req.path)) return next();
    if (inflight >= maxInflight) {
      return next(
        new AppError(
          'asks_busy',
          `This process is answering ${maxInflight} questions already (MAX_INFLIGHT_ASKS); retry shortly`,
          { maxInflight },
          { headers: { 'Retry-After': String(retryAfterSeconds) } },
        ),
      );
    }
    inflight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inflight--;
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  }) as RequestHandler & { inflight(): number };
  middleware.inflight = () => inflight;
  return middleware;
}
