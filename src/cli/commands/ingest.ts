import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { RagmemError, type Document, type RagmemClient } from '../../client';
import { clientOf, positiveInt } from '../client-of';
import { expandPaths } from '../expand-paths';
import { err, out, printJson } from '../output';

interface IngestOptions {
  collection?: string;
  concurrency: number;
  wait: boolean;
  json?: boolean;
  pollMs: number;
}

interface FileResult {
  file: string;
  id?: string;
  status: string;
  duplicate?: boolean;
  chunkCount?: number;
  error?: { code: string; message: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settled = (status: string) => status === 'ready' || status === 'failed';

/** A document's progress as a fraction: its stage's done/total, whole when ready. */
const fraction = (doc: Document) => (doc.status === 'ready' ? 1 : doc.progress.total > 0 ? doc.progress.done / doc.progress.total : 0);

/**
 * Progress on a terminal: a bar per file and one overall (on stderr, so stdout stays the results). Off a terminal
 * (pipes, CI logs) cli-progress draws nothing and each file's outcome is one plain line.
 */
function progressView(files: string[]) {
  const tty = Boolean(process.stderr.isTTY);
  const bars = new MultiBar(
    { stream: process.stderr, format: ' {bar} {percentage}% | {name} | {stage}', hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  const overall = bars.create(files.length, 0, { name: `${files.length} files`, stage: 'uploading' });
  const perFile = new Map<string, SingleBar>(files.map((f) => [f, bars.create(100, 0, { name: path.basename(f), stage: 'waiting' })]));
  return {
    update(file: string, percent: number, stage: string) {
      perFile.get(file)?.update(Math.round(percent * 100), { stage });
    },
    overall(done: number, stage: string) {
      overall.update(done, { stage });
    },
    line(text: string) {
      if (tty) bars.log(`${text}\n`);
      else out(text);
    },
    stop() {
      bars.stop();
    },
  };
}

async function uploadOne(client: RagmemClient, file: string, collection?: string): Promise<FileResult> {
  try {
    const blob = await fs.openAsBlob(file);
    const doc = await client.documents.upload(blob, path.basename(file), { ...(collection ? { collection } : {}) });
    return { file, id: doc.id, status: doc.status, duplicate: doc.duplicate, chunkCount: doc.chunkCount };
  } catch (e) {
    // Refused at upload (415, 413, 400): the file is failed with the service's code; the others go on.
    if (e instanceof RagmemError && e.status < 500 && e.status !== 401 && e.status !== 429) {
      return { file, status: 'failed', error: { code: e.code, message: e.message } };
    }
    throw e;
  }
}

async function ingest(this: Command, paths: string[], opts: IngestOptions): Promise<void> {
  const client = clientOf(this);
  const files = await expandPaths(paths);
  const view = progressView(files);
  const results = new Map<string, FileResult>();
  const report = (r: FileResult) => {
    const what = r.error ? `${r.error.code}: ${r.error.message}` : `${r.chunkCount ?? 0} chunks${r.duplicate ? ', already there' : ''}`;
    if (!opts.json) view.line(`${r.status.padEnd(7)} ${r.file}  (${what})`);
  };
  try {
    // Uploads, `concurrency` at a time.
    let next = 0;
    const uploader = async () => {
      while (next < files.length) {
        const file = files[next++];
        view.update(file, 0, 'uploading');
        const r = await uploadOne(client, file, opts.collection);
        results.set(file, r);
        view.update(file, settled(r.status) ? 1 : 0, r.status);
        if (!opts.wait || settled(r.status)) report(r);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, files.length) }, uploader));

    // Then until every document is ready or failed.
    const isSettled = (r: FileResult) => settled(r.status) || !opts.wait;
    view.overall([...results.values()].filter(isSettled).length, opts.wait ? 'ingesting' : 'queued');
    while (opts.wait && [...results.values()].some((r) => !settled(r.status))) {
      for (const r of results.values()) {
        if (settled(r.status) || !r.id) continue;
        const doc = await client.documents.get(r.id);
        Object.assign(r, { status: doc.status, chunkCount: doc.chunkCount, error: doc.error });
        view.update(r.file, fraction(doc), doc.status === 'ready' || doc.status === 'failed' ? doc.status : doc.progress.stage);
        if (settled(r.status)) report(r);
      }
      view.overall([...results.values()].filter(isSettled).length, 'ingesting');
      if ([...results.values()].some((r) => !settled(r.status))) await sleep(opts.pollMs);
    }
    view.overall(files.length, 'done');
  } finally {
    view.stop();
  }

  const all = files.map((f) => results.get(f)!);
  const failed = all.filter((r) => r.status === 'failed');
  if (opts.json) printJson(all);
  else {
    out(`${all.length - failed.length} of ${all.length} files ${opts.wait ? 'ready' : 'accepted'}, ${failed.length} failed.`);
    for (const r of failed) err(`failed: ${r.file}: ${r.error?.code}: ${r.error?.message}`);
  }
  if (failed.length) process.exitCode = 1;
}

export function ingestCommand(): Command {
  return new Command('ingest')
    .description('upload files (paths, folders or quoted globs) and follow each until it is ready or failed')
    .argument('<paths...>', 'files, folders or glob patterns')
    .option('-c, --collection <name>', 'the collection to add them to')
    .option('--concurrency <n>', 'uploads in flight at once', positiveInt('--concurrency'), 4)
    .option('--no-wait', 'return once every file is accepted, without waiting for ingestion')
    .option('--json', 'print the results as JSON')
    .option('--poll-ms <ms>', 'how often to read the documents’ status', positiveInt('--poll-ms'), 250)
    .action(ingest);
}
