import type { Logger } from 'pino';
import type { Config } from '../../config';
import { isAppError } from '../../errors';
import type { ParsedDocument, SourceFormat } from '../../core/parsed-document';
import { ParseProcess } from './parse-process';

export type ParsePoolOptions = Config['parse'] & {
  logger: Logger;
  /** How often a running parse's resident memory is read; a flate bomb grows by about a gigabyte a second. */
  memoryCheckMs?: number;
};

export const DEFAULT_MEMORY_CHECK_MS = 50;

/**
 * Up to `concurrency` parse processes, started when first needed and reused; a parse waits (FIFO) when all are busy.
 * Its time limit starts when a process takes it, so a parse is not failed for having waited.
 *
 * Why child processes and not worker threads (piscina): a worker's `resourceLimits` cap only its V8 heap, and pdf.js
 * decodes streams into typed arrays outside that heap. Measured on Node 20: a thread with maxOldGenerationSizeMb 128
 * allocated 2.7 GB of Uint8Arrays and finished normally, and a 1 MB Flate-compressed PDF decodes to 1 GB. A process's
 * whole resident memory can be read (/proc) and bounded, and SIGKILL ends it whatever it is doing.
 */
export class ParsePool {
  private readonly processes = new Set<ParseProcess>();
  private readonly idle: ParseProcess[] = [];
  private readonly waiting: Array<{ resolve: (proc: ParseProcess) => void; reject: (err: unknown) => void }> = [];
  private closing?: Promise<void>;

  constructor(private readonly options: ParsePoolOptions) {}

  async parse(bytes: Buffer, format: SourceFormat): Promise<ParsedDocument> {
    const proc = await this.acquire();
    try {
      return await proc.parse(bytes, format);
    } catch (err) {
      if (isAppError(err) && (err.code === 'parse_timeout' || err.code === 'parse_out_of_memory')) {
        this.options.logger.warn({ format, bytes: bytes.length, code: err.code }, 'parse stopped at its limit');
      }
      throw err;
    } finally {
      this.release(proc);
    }
  }

  /** Process ids of the running parse processes (for tests and diagnostics). */
  pids(): number[] {
    return [...this.processes].flatMap((proc) => (proc.pid === undefined ? [] : [proc.pid]));
  }

  /** Kills every parse process and fails waiting parses (retryably: another worker takes the job). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const waiter of this.waiting.splice(0)) waiter.reject(closedError());
      this.idle.length = 0;
      await Promise.all([...this.processes].map((proc) => proc.kill()));
    })();
    return this.closing;
  }

  private acquire(): Promise<ParseProcess> {
    if (this.closing) return Promise.reject(closedError());
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.processes.size < this.options.concurrency) return this.start();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(proc: ParseProcess): void {
    if (!proc.usable || this.closing) return; // a stopped process is replaced by the exit handler, on demand
    const next = this.waiting.shift();
    if (next) next.resolve(proc);
    else this.idle.push(proc);
  }

  private async start(): Promise<ParseProcess> {
    const proc = new ParseProcess({
      timeoutMs: this.options.timeoutMs,
      maxMemoryMb: this.options.maxMemoryMb,
      maxPdfPages: this.options.maxPdfPages,
      ocr: this.options.ocr,
      memoryCheckMs: this.options.memoryCheckMs ?? DEFAULT_MEMORY_CHECK_MS,
      onExit: (exited) => this.forget(exited),
      onCrash: (info) => this.options.logger.warn(info, 'a parse process crashed'),
    });
    this.processes.add(proc);
    await proc.ready;
    return proc;
  }

  /** A process exited: drop it, and start one for a waiting parse if that leaves room. */
  private forget(proc: ParseProcess): void {
    this.processes.delete(proc);
    const at = this.idle.indexOf(proc);
    if (at >= 0) this.idle.splice(at, 1);
    while (!this.closing && this.waiting.length > 0 && this.processes.size < this.options.concurrency) {
      const next = this.waiting.shift()!;
      this.start().then(next.resolve, next.reject);
    }
  }
}

const closedError = () => new Error('The parse pool is closed: the service is shutting down');
