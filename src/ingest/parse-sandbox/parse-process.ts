import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import path from 'node:path';
import { AppError } from '../../errors';
import type { ParsedDocument, SourceFormat } from '../../core/parsed-document';
import { fromWireError, type ParseReply, type ParseRequest } from './parse-messages';
import { residentMemoryMb } from './resident-memory';

export interface ParseProcessOptions {
  timeoutMs: number;
  maxMemoryMb: number;
  maxPdfPages: number;
  /** Read image-only PDF pages and images by OCR. */
  ocr: boolean;
  /** How often resident memory is read while a parse runs. */
  memoryCheckMs: number;
  /** Called once, synchronously, when the process has exited (before the parse it ran, if any, rejects). */
  onExit: (proc: ParseProcess) => void;
  /** Gets the child's stderr when it crashed: logged, never put in a document's error (a tenant reads that). */
  onCrash: (info: { code: number | null; signal: NodeJS.Signals | null; stderr: string }) => void;
}

/** Kept of the child's stderr, to tell a V8 heap-limit abort from another crash and to log it. */
const STDERR_TAIL_CHARS = 4096;

/** Why a parse process stopped, when the parent stopped it. */
type StopReason = { kind: 'limit'; error: AppError } | { kind: 'closed' };

/**
 * One child process that parses documents, one at a time, under three limits: it is killed (SIGKILL, which works
 * even while its event loop is blocked in pdf.js) when a parse runs past `timeoutMs`, when its resident memory passes
 * `maxMemoryMb` (read from /proc by the parent every `memoryCheckMs`), and V8 aborts it when its heap does
 * (--max-old-space-size). A killed process is not reused; the pool starts another when one is needed.
 */
export class ParseProcess {
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private current?: { id: number; resolve: (parsed: ParsedDocument) => void; reject: (err: unknown) => void; timers: NodeJS.Timeout[] };
  private nextId = 1;
  private stopReason?: StopReason;
  private stderrTail = '';
  private exitedFlag = false;
  private readonly exited: Promise<void>;

  constructor(private readonly options: ParseProcessOptions) {
    const entry = childEntry();
    this.child = fork(entry.file, [], {
      execArgv: [...entry.execArgv, `--max-old-space-size=${options.maxMemoryMb}`],
      // Structured clone: the document's bytes cross as one typed array, not as JSON numbers.
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
    });
    (this.child.stderr as Socket | null)?.unref();

    let onReady!: () => void;
    let onNotReady!: (err: unknown) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onNotReady = reject;
    });
    this.ready.catch(() => undefined); // a caller that never awaited it must not see an unhandled rejection
    // An idle parse process must not keep the service from exiting; a starting or busy one must keep it waiting.
    void this.ready.then(
      () => this.holdEventLoop(this.current !== undefined),
      () => undefined,
    );

    this.exited = new Promise<void>((resolve) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exitedFlag) return;
        this.exitedFlag = true;
        options.onExit(this);
        onNotReady(new Error(`The parse process exited before it was ready (code ${code}, signal ${signal})`));
        this.settle({ error: this.exitError(code, signal) });
        resolve();
      };
      this.child.once('exit', onExit);
      this.child.on('error', (err) => {
        onNotReady(err);
        // A process that never started emits no 'exit'; one that did is killed, and its 'exit' follows.
        if (this.child.pid === undefined) onExit(null, null);
        else this.child.kill('SIGKILL');
      });
    });
    this.child.on('message', (reply: ParseReply) => {
      if (reply.type === 'ready') onReady();
      else if (this.current?.id === reply.id) {
        this.settle(reply.type === 'parsed' ? { parsed: reply.parsed } : { error: fromWireError(reply.error) });
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the process has exited (or is being killed): the pool does not hand it another parse. */
  get usable(): boolean {
    return !this.exitedFlag && this.stopReason === undefined;
  }

  /** Parses one document; the process must be ready and idle. */
  parse(bytes: Buffer, format: SourceFormat): Promise<ParsedDocument> {
    if (this.current || !this.usable) return Promise.reject(new Error('The parse process is busy or gone (a pool bug)'));
    const id = this.nextId++;
    const { timeoutMs, maxMemoryMb, memoryCheckMs } = this.options;
    return new Promise<ParsedDocument>((resolve, reject) => {
      const deadline = setTimeout(() => {
        this.stop({
          kind: 'limit',
          error: new AppError('parse_timeout', `Parsing the ${format} did not finish within ${timeoutMs} ms and was stopped`, {
            limitMs: timeoutMs,
          }),
        });
      }, timeoutMs);
      const memoryWatch = setInterval(() => {
        void residentMemoryMb(this.child.pid ?? 0).then((mb) => {
          if (mb !== undefined && mb > maxMemoryMb && this.current?.id === id) {
            this.stop({ kind: 'limit', error: outOfMemory(format, maxMemoryMb) });
          }
        });
      }, memoryCheckMs);
      memoryWatch.unref();
      this.current = { id, resolve, reject, timers: [deadline, memoryWatch] };
      this.holdEventLoop(true);
      const request: ParseRequest = { id, bytes, format, maxPdfPages: this.options.maxPdfPages, ocr: this.options.ocr };
      this.child.send(request, (err) => {
        if (err) this.settle({ error: err });
      });
    });
  }

  /** Kills the process (a parse it runs rejects with a retryable error) and resolves once it has exited. Idempotent. */
  kill(): Promise<void> {
    this.stop({ kind: 'closed' });
    return this.exited;
  }

  private holdEventLoop(hold: boolean): void {
    if (this.exitedFlag) return;
    if (hold) {
      this.child.ref();
      this.child.channel?.ref();
    } else {
      this.child.unref();
      this.child.channel?.unref();
    }
  }

  private stop(reason: StopReason): void {
    if (this.exitedFlag || this.stopReason) return;
    this.stopReason = reason;
    this.child.kill('SIGKILL');
  }

  private settle(outcome: { parsed: ParsedDocument } | { error: unknown }): void {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    for (const timer of current.timers) clearTimeout(timer);
    this.holdEventLoop(false);
    if ('parsed' in outcome) current.resolve(outcome.parsed);
    else current.reject(outcome.error);
  }

  /** Why a parse ended with the process: the limit we stopped it for, V8's heap limit, or a crash (retryable). */
  private exitError(code: number | null, signal: NodeJS.Signals | null): unknown {
    if (this.stopReason?.kind === 'limit') return this.stopReason.error;
    if (this.stopReason?.kind === 'closed') return new Error('The parse was stopped because the service is shutting down');
    if (signal === 'SIGABRT' || /heap out of memory|Reached heap limit/i.test(this.stderrTail)) {
      return outOfMemory('document', this.options.maxMemoryMb);
    }
    this.options.onCrash({ code, signal, stderr: this.stderrTail.trim() });
    return new Error(`The parse process exited unexpectedly (code ${code}, signal ${signal})`);
  }
}

const outOfMemory = (what: string, maxMemoryMb: number) =>
  new AppError('parse_out_of_memory', `Parsing the ${what} needed more than ${maxMemoryMb} MB of memory and was stopped`, {
    limitMb: maxMemoryMb,
  });

/**
 * The child's entry next to this file: compiled JavaScript under `npm start`; TypeScript under tsx (`npm run dev`)
 * and jest, where the child loads it through tsx's CommonJS hook (jest's transform does not reach a child process).
 */
function childEntry(): { file: string; execArgv: string[] } {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `parse-child${ext}`);
  return ext === '.ts' ? { file, execArgv: ['--require', require.resolve('tsx/cjs')] } : { file, execArgv: [] };
}
