import type { MistralErrorContext } from './mistral-errors';

/**
 * One upstream call's cancellation: the caller's signal (client disconnect) OR a restartable timeout OR an explicit
 * abort (consumer stopped a stream early). `signal` goes to the SDK/fetch; `errorContext` lets the error mapper tell
 * the caller's abort from a timeout.
 */
export class Deadline {
  private readonly timeoutController = new AbortController();
  private readonly localController = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  readonly signal: AbortSignal;

  constructor(
    private readonly timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    const signals = [this.timeoutController.signal, this.localController.signal];
    if (callerSignal) signals.push(callerSignal);
    this.signal = AbortSignal.any(signals);
    this.restart();
  }

  /** (Re)arms the timeout from now. */
  restart(): void {
    if (this.timeoutController.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timeoutController.abort(new DOMException(`timed out after ${this.timeoutMs} ms`, 'TimeoutError'));
    }, this.timeoutMs);
    this.timer.unref?.();
  }

  abort(): void {
    this.localController.abort();
  }

  errorContext(operation: string): MistralErrorContext {
    return { callerSignal: this.callerSignal, timeoutSignal: this.timeoutController.signal, timeoutMs: this.timeoutMs, operation };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
