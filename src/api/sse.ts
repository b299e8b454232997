import type { Response } from 'express';
import { toAppError } from './middleware/error-handler';

/** What every stream's `error` event carries (a stream fails with it once its 200 is sent); Events['error'] is it. */
export interface StreamError {
  code: string;
  message: string;
}

/**
 * Server-Sent Events on an Express response: `event: name` + one JSON `data:` line per event. `Events` maps each event
 * name to the type of its data, inferred from the zod schemas that describe the stream in the OpenAPI document (e.g.
 * AskStreamEvents from ASK_STREAM_EVENTS in views/session-views.ts), so what is written cannot drift from them.
 */
export class EventStream<Events extends { error: StreamError }> {
  constructor(private readonly res: Response) {
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    // Proxies such as nginx buffer responses unless told otherwise; deltas must reach the client as they come.
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
  }

  send<E extends keyof Events & string>(event: E, data: Events[E]): void {
    this.write(event, data);
  }

  /** Ends the stream with an `error` event (headers are sent by then, so the status cannot change). */
  fail(err: unknown): void {
    const appErr = toAppError(err);
    const data: StreamError = { code: appErr.code, message: appErr.message };
    this.write('error', data);
    this.end();
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }

  private write(event: string, data: unknown): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

/** An AbortSignal that fires when the client goes away before the response is complete. */
export function clientGone(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  return controller.signal;
}
