import type { Response } from 'express';
import { toAppError } from './middleware/error-handler';

/** Server-Sent Events on an Express response: `event: name` + one JSON `data:` line per event. */
export class EventStream {
  constructor(private readonly res: Response) {
    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    // Proxies such as nginx buffer responses unless told otherwise; deltas must reach the client as they come.
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
  }

  send(event: string, data: unknown): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream with an `error` event (headers are sent by then, so the status cannot change). */
  fail(err: unknown): void {
    const appErr = toAppError(err);
    this.send('error', { code: appErr.code, message: appErr.message });
    this.end();
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
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
