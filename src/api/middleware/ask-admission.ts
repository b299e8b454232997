import type { RequestHandler } from 'express';
import { AppError } from '../../errors';

/**
 * Bounds the asks one API process works on at once (MAX_INFLIGHT_ASKS), HTTP and MCP asks together. Asks skip the fair
 * scheduler (they mostly wait on a model), so without this an overloaded process kept accepting them: under an
 * open-loop 30 asks/s it could serve 21, and every second queued nine more prepared prompts in memory, the API's RSS
 * rising from 650 MB to 1.1 GB in 20 s. Past the bound an ask answers 503 `asks_busy` with Retry-After at once, before
 * any work, so a client or load balancer can go elsewhere.
 */
export class AskSlots {
  private taken = 0;

  constructor(
    readonly max: number,
    private readonly retryAfterSeconds = 1,
  ) {}

  /** Takes a place or throws `asks_busy`; the returned release gives it back (calling it again does nothing). */
  take(): () => void {
    if (this.taken >= this.max) {
      throw new AppError(
        'asks_busy',
        `This process is answering ${this.max} questions already (MAX_INFLIGHT_ASKS); retry shortly`,
        { maxInflight: this.max },
        { headers: { 'Retry-After': String(this.retryAfterSeconds) } },
      );
    }
    this.taken++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.taken--;
    };
  }

  inflight(): number {
    return this.taken;
  }
}

/** `POST /sessions/:id/ask` takes a place before its body is read; it is given back when the response ends or the client goes away. */
export function askAdmission(slots: AskSlots): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST' || !/^\/sessions\/[^/]+\/ask$/.test(req.path)) return next();
    let release: () => void;
    try {
      release = slots.take();
    } catch (err) {
      return next(err);
    }
    res.once('finish', release);
    res.once('close', release);
    next();
  };
}
