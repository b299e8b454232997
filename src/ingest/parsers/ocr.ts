import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../errors';

/**
 * OCR with Debian's `tesseract` (5.x) and `pdftoppm` (poppler-utils), run as programs from the parse process. Chosen
 * by measurement on linn.pdf, a two-column scan (docs/ingestion.md): character error rate 0.89% against its true text
 * with both columns in order, about 3.5 s and 78 MB per page on 2 cores; tesseract.js read as well at half the speed
 * and 4x the memory, and PaddleOCR through onnxruntime (@gutenye/ocr-node) had a higher error rate, interleaved the
 * columns and needed 2-4 GB. Pages are read one at a time, 300 dpi, page segmentation mode 3 (automatic layout,
 * which keeps columns in reading order).
 */
export interface OcrPage {
  text: string;
  /** Mean of tesseract's per-word confidences, 0-100 (0 when no word was read). */
  confidence: number;
}

export const OCR_DPI = 300;
/** One page: rendering and reading take seconds; a page that takes minutes is stopped (and its program killed). */
const PAGE_TIMEOUT_MS = 120_000;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // OpenMP threads made tesseract 4x slower on 2 cores (they contend with each other and with the other work).
    const env = { ...process.env, OMP_THREAD_LIMIT: '1' };
    execFile(
      cmd,
      args,
      { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: PAGE_TIMEOUT_MS, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve(stdout)),
    );
  });
}

let available: Promise<boolean> | undefined;
/** Are tesseract (with English) and pdftoppm installed? Asked once per process. */
export function ocrAvailable(): Promise<boolean> {
  available ??= Promise.all([run('tesseract', ['--list-langs']), run('pdftoppm', ['-v'])]).then(
    ([langs]) => /^eng$/m.test(langs),
    () => false,
  );
  return available;
}

export function ocrUnavailable(what: string): AppError {
  return new AppError(
    'ocr_unavailable',
    `${what} needs OCR, which is off (OCR=off) or not installed on this server (Debian: tesseract-ocr, tesseract-ocr-eng, poppler-utils)`,
    undefined,
    { retryable: false },
  );
}

function ocrFailed(err: unknown): AppError {
  const detail = (err as { stderr?: string }).stderr?.trim().split('\n').pop() ?? (err instanceof Error ? err.message : String(err));
  return new AppError('ocr_failed', `OCR could not read the page: ${detail}`, undefined, { cause: err, retryable: false });
}

/** Pages (1-based) of a PDF, rendered and read one at a time. */
export async function ocrPdfPages(pdf: Buffer, pages: number[]): Promise<Map<number, OcrPage>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ragmem-ocr-'));
  try {
    const file = path.join(dir, 'in.pdf');
    await writeFile(file, pdf);
    const out = new Map<number, OcrPage>();
    for (const num of pages) {
      const image = path.join(dir, `p${num}`);
      try {
        // Grey PGM: about 0.25 s to write at 300 dpi where PNG's compression takes 1.3 s.
        await run('pdftoppm', ['-r', String(OCR_DPI), '-gray', '-f', String(num), '-l', String(num), '-singlefile', file, image]);
        out.set(num, await readImage(`${image}.pgm`, OCR_DPI));
      } catch (err) {
        throw err instanceof AppError ? err : ocrFailed(err);
      }
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An image file (PNG, JPEG, TIFF: tesseract reads them through leptonica). */
export async function ocrImage(bytes: Buffer): Promise<OcrPage> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ragmem-ocr-'));
  try {
    const file = path.join(dir, 'image');
    await writeFile(file, bytes);
    return await readImage(file).catch((err: unknown) => {
      throw ocrFailed(err);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readImage(file: string, dpi?: number): Promise<OcrPage> {
  const tsv = await run('tesseract', [file, '-', '-l', 'eng', '--psm', '3', ...(dpi ? ['--dpi', String(dpi)] : []), 'tsv']);
  return fromTsv(tsv);
}

/**
 * Text from tesseract's TSV (one row per word with its block, paragraph and line, in reading order): words joined
 * by spaces, lines by newlines, paragraphs by blank lines; and the words' mean confidence.
 */
export function fromTsv(tsv: string): OcrPage {
  const paragraphs: string[][][] = [];
  let lastPar = '';
  let lastLine = '';
  let confSum = 0;
  let words = 0;
  for (const row of tsv.split('\n')) {
    const f = row.split('\t');
    if (f.length < 12 || f[0] !== '5') continue; // level 5: a word
    const text = f.slice(11).join('\t').trim();
    const conf = Number(f[10]);
    if (text === '' || !(conf >= 0)) continue;
    const par = `${f[1]}.${f[2]}.${f[3]}`;
    const line = `${par}.${f[4]}`;
    if (par !== lastPar) paragraphs.push([]);
    const lines = paragraphs[paragraphs.length - 1];
    if (line !== lastLine || par !== lastPar) lines.push([]);
    lines[lines.length - 1].push(text);
    lastPar = par;
    lastLine = line;
    confSum += conf;
    words++;
  }
  const text = paragraphs.map((lines) => lines.map((w) => w.join(' ')).join('\n')).join('\n\n');
  return { text, confidence: words ? confSum / words : 0 };
}
