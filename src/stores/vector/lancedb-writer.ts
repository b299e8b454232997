import type * as lancedb from '@lancedb/lancedb';
import type { StoreLogger } from './vector-store';

/** Group commit: a batch commits once it holds this many rows, or after the linger time. */
const GROUP_COMMIT_ROWS = 128;
const GROUP_COMMIT_LINGER_MS = 8;
/** The longest a paced fold waits (see foldPacing): the rows it covers are searchable meanwhile, only misranked. */
const MAX_FOLD_PAUSE_MS = 5_000;

export interface TableWriterOptions {
  tableName: string;
  /** Fold after this many writes (upserts or deletes). */
  optimizeAfterWrites: number;
  /** Fold once writes have paused this long; 0 turns it off. */
  optimizeIdleMs: number;
  /** Old table versions are kept this long for readers in other processes. */
  keepVersionsMs: number;
  /** A paced fold waits this many times the last fold's duration after it (see pacedFold). */
  foldPacing: number;
  logger?: StoreLogger;
  /** Called after each fold with its duration in seconds (the service counts folds: a metric for operators). */
  onFold?: (seconds: number) => void;
  /** The open table, or undefined once the store closed (a fold queued before then has nothing to do). */
  table(): Promise<lancedb.Table> | undefined;
}

interface UpsertBatch {
  rows: Map<string, Record<string, unknown>>;
  /** Ends the linger early once the batch is full. */
  full?: () => void;
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

/**
 * The writes of one LanceDB table from this process, one at a time (LanceDB retries conflicting commits, but
 * serialising avoids them): upserts joined into group commits, deletes, and the folds (`optimize`: compaction, index
 * update, pruning of old versions) they call for.
 */
export class TableWriter {
  private closed = false;
  private writeTail: Promise<void> = Promise.resolve();
  /** The upsert batch still taking rows (queued, not yet committing). */
  private openBatch?: UpsertBatch;
  private writesSinceOptimize = 0;
  /** A fold queued behind the writes and not yet started: later requests share it. */
  private queuedOptimize?: Promise<void>;
  private idleTimer?: NodeJS.Timeout;
  /** When the last fold ended (ms since the epoch) and how long it took; the paced fold writers are waiting for. */
  private lastOptimize = { endedAt: 0, ms: 0 };
  private pacedFoldRun?: Promise<void>;

  constructor(private readonly options: TableWriterOptions) {}

  /**
   * Upserts rows (merged on tenant and id), resolving once they are committed. Group commit: upserts that arrive while
   * earlier writes run join one merge-insert. Each LanceDB commit costs ~10 ms whatever its size, so a worker ingesting
   * many small documents at once would otherwise spend its time committing one chunk at a time.
   */
  async upsert(table: lancedb.Table, rows: Array<Record<string, unknown>>): Promise<void> {
    let batch = this.openBatch;
    if (!batch) {
      const fresh: UpsertBatch = { rows: new Map(), waiters: [] };
      batch = this.openBatch = fresh;
      void this.write(() => this.commitBatch(table, fresh));
    }
    // A batch must not hold an id twice (merge-insert would write both copies): the last one wins, as it would had
    // the chunks been upserted one by one. Keyed by tenant too: another tenant's chunk id never overwrites this one.
    for (const row of rows) batch.rows.set(`${row.tenant}\u0000${row.id}`, row);
    if (batch.rows.size >= GROUP_COMMIT_ROWS) batch.full?.();
    const joined = batch;
    await new Promise<void>((resolve, reject) => joined.waiters.push({ resolve, reject }));
  }

  /** A delete (or any write) after the writes before it; upserts called after it may not join an earlier batch. */
  async delete(fn: () => Promise<void>): Promise<void> {
    this.openBatch = undefined;
    await this.write(fn);
  }

  /**
   * Compacts small fragments, folds new rows into the full-text index and prunes old versions. Queued behind the
   * writes; a write that triggers it does not wait for it (the next write does). Requests made before it starts share
   * it. Failures are logged, not thrown: the data is intact and still searchable, and the next trigger tries again.
   */
  fold(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.queuedOptimize) return this.queuedOptimize;
    const run = this.enqueue(async () => {
      this.queuedOptimize = undefined;
      const opened = this.options.table();
      if (!opened) return;
      const pending = this.writesSinceOptimize;
      this.writesSinceOptimize = 0;
      try {
        const table = await opened;
        const started = Date.now();
        const stats = await table.optimize({ cleanupOlderThan: new Date(Date.now() - this.options.keepVersionsMs) });
        this.lastOptimize = { endedAt: Date.now(), ms: Date.now() - started };
        this.options.onFold?.(this.lastOptimize.ms / 1000);
        this.options.logger?.info(
          { table: this.options.tableName, ms: this.lastOptimize.ms, writes: pending, ...stats.compaction },
          'lancedb table optimized',
        );
      } catch (err) {
        this.writesSinceOptimize += pending;
        this.options.logger?.warn({ err, table: this.options.tableName }, 'lancedb optimize failed');
      }
    });
    this.queuedOptimize = run;
    return run;
  }

  /**
   * A fold for writers, started no sooner than `foldPacing` times the last fold's duration after it (at most
   * MAX_FOLD_PAUSE_MS). A fold compacts the table and rebuilds its keyword index whatever was added, so while writes
   * keep coming (a worker indexing the turns of 32 conversations) folding after every commit kept the worker's core
   * 70-80% busy; paced, one fold covers every write of the pause (the same load: 17-47%, `npm run bench -- --only load`).
   */
  pacedFold(): Promise<void> {
    if (this.pacedFoldRun) return this.pacedFoldRun;
    const pause = Math.min(MAX_FOLD_PAUSE_MS, this.options.foldPacing * this.lastOptimize.ms);
    const wait = this.lastOptimize.endedAt + pause - Date.now();
    if (wait <= 0) return this.fold();
    this.pacedFoldRun = new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      this.pacedFoldRun = undefined;
      return this.fold();
    });
    return this.pacedFoldRun;
  }

  /** Stops scheduling folds and waits for the queued writes (and a running fold): a caller awaited each of them. */
  async drain(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.writeTail;
  }

  private async commitBatch(table: lancedb.Table, batch: UpsertBatch): Promise<void> {
    // Linger briefly while the batch is small: concurrent jobs are about to add theirs, and one commit of 64 rows
    // costs about what one commit of 1 row costs.
    if (batch.rows.size < GROUP_COMMIT_ROWS && this.openBatch === batch) {
      await new Promise<void>((resolve) => {
        batch.full = resolve;
        setTimeout(resolve, GROUP_COMMIT_LINGER_MS);
      });
    }
    if (this.openBatch === batch) this.openBatch = undefined;
    try {
      await table
        .mergeInsert(['tenant', 'id'])
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute([...batch.rows.values()]);
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      for (const w of batch.waiters) w.reject(err);
    }
  }

  /** Runs a write after the previous ones, then counts it towards the next fold. */
  private async write(fn: () => Promise<void>): Promise<void> {
    await this.enqueue(fn);
    this.writesSinceOptimize++;
    if (this.closed) return; // drain() has emptied the queue; nothing more to schedule
    // With pacing, these folds are paced too: a fold rewrites the whole table (0.25 s at 10,000 rows), so folding one
    // second after every write pause kept a core 21% busy for a single chat appending a turn every 1.5 s to a
    // 10,000-message session memory (`ragmem_lancedb_fold_seconds`: 20 folds in 30 s).
    const fold = () => (this.options.foldPacing > 0 ? this.pacedFold() : this.fold());
    if (this.writesSinceOptimize >= this.options.optimizeAfterWrites) {
      void fold();
    } else if (this.options.optimizeIdleMs > 0) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => void fold(), this.options.optimizeIdleMs);
      this.idleTimer.unref(); // never keep a process alive just to compact
    }
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.writeTail.then(fn);
    this.writeTail = run.catch(() => undefined);
    return run;
  }
}
