import fs from 'node:fs';
import path from 'node:path';
import { SHARED_DATA } from './corpus';
import { callJson } from './http';
import { formatSources, type FormatSource } from './parse';
import { deployService } from './processes';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function upload(base: string, name: string, bytes: Buffer, collection: string): Promise<string> {
  const fd = new FormData();
  fd.append('collection', collection);
  fd.append('file', new Blob([bytes], { type: 'application/octet-stream' }), name); // detected by content, as most clients send
  const res = await fetch(`${base}/documents`, { method: 'POST', body: fd });
  const body = (await res.json()) as { id: string };
  if (res.status !== 202) throw new Error(`upload of ${name} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

async function untilSettled(base: string, ids: string[], timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(ids);
  while (pending.size) {
    for (const id of [...pending]) {
      const doc = await callJson(base, 'GET', `/documents/${id}`);
      if (doc.status === 'failed') throw new Error(`document ${id} failed: ${JSON.stringify(doc.error)}`);
      if (doc.status === 'ready') pending.delete(id);
    }
    if (Date.now() > deadline) throw new Error(`${pending.size} documents not ready after ${timeoutMs} ms`);
    if (pending.size) await sleep(50);
  }
}

/**
 * Each format end to end on `npm start` (compiled, default settings: the API forks its worker processes): every file
 * of a set uploaded at once through `POST /documents`, the clock stopped when the last is ready (parsed in a parse
 * process, OCR'd where needed, chunked, embedded, searchable). One run per set: what a user waits for.
 */
export async function runFormatEndToEndBench(): Promise<Array<Record<string, string | number>>> {
  const scans: FormatSource = {
    source: 'linn.pdf + c02-22.pdf (2 scanned pages, OCR)',
    format: 'pdf',
    ext: 'pdf',
    bytes: ['linn.pdf', 'c02-22.pdf'].map((n) => fs.readFileSync(path.join(SHARED_DATA, 'pdfs', n))),
    pages: 2,
  };
  const sets = [...(await formatSources()), scans];
  const service = await deployService('formats', {});
  const rows: Array<Record<string, string | number>> = [];
  try {
    for (const [i, set] of sets.entries()) {
      const mb = set.bytes.reduce((n, b) => n + b.length, 0) / 1e6;
      const started = performance.now();
      const ids = await Promise.all(set.bytes.map((b, j) => upload(service.base, `file-${j}.${set.ext}`, b, `formats-${i}`)));
      await untilSettled(service.base, ids);
      const seconds = (performance.now() - started) / 1000;
      rows.push({
        source: set.source,
        files: set.bytes.length,
        MB: mb,
        'seconds to all ready': seconds,
        'MB/s': mb / seconds,
        'pages/s': set.pages ? set.pages / seconds : '-',
      });
    }
  } finally {
    await service.stop();
  }
  return rows;
}
