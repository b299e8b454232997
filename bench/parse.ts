import fs from 'node:fs';
import path from 'node:path';
import { parseSource } from '../src/ingest/parsers';
import type { SourceFormat } from '../src/core/parsed-document';
import { docxFile, type DocxBlock } from '../test/support/docx-file';
import { SHARED_DATA, generateDocuments } from './corpus';

export interface ParseRow extends Record<string, string | number> {
  source: string;
  format: string;
  MB: number;
  'text MB': number;
  'seconds (median of 3)': number;
  'MB/s': number;
  'text MB/s': number;
}

/** A saved article page: navigation, a banner and a footer around sections of real prose. */
function articlePage(doc: string): string {
  const sections = doc.split('\n\n').map((p, i) => `${i % 3 === 0 ? `<h2>Section ${i / 3 + 1}</h2>` : ''}<p>${p}</p>`);
  return `<!DOCTYPE html><html><head><title>Findings</title><script>analytics()</script></head><body>
<nav><a href="/">Home</a> <a href="/archive">Archive</a></nav><header>Journal of examples</header>
<article><h1>Findings</h1>${sections.join('\n')}</article><footer>Terms, privacy, cookies</footer></body></html>`;
}

function wordBlocks(doc: string): DocxBlock[] {
  return doc
    .split('\n\n')
    .flatMap((p, i): DocxBlock[] => (i % 3 === 0 ? [{ heading: 2, text: `Section ${i / 3 + 1}` }, { paragraph: p }] : [{ paragraph: p }]));
}

export interface FormatSource {
  source: string;
  format: SourceFormat;
  /** File name extension for uploads. */
  ext: string;
  bytes: Buffer[];
  /** Pages in all, for the paged formats. */
  pages?: number;
}

/**
 * What each format's figures are measured on: the shared PDFs with a text layer, and generated HTML pages, Word
 * documents and Markdown files of the same prose (SciFact sentences, 100 KB each) as the ingestion bench.
 */
export async function formatSources(): Promise<FormatSource[]> {
  const prose = generateDocuments(20, 100_000, 5);
  const sharedPdf = (name: string) => fs.readFileSync(path.join(SHARED_DATA, 'pdfs', name));
  return [
    { source: 'tracemonkey.pdf (14 pages, two columns)', format: 'pdf', ext: 'pdf', bytes: [sharedPdf('tracemonkey.pdf')], pages: 14 },
    {
      source: 'federal-register-2020-17221.pdf (15 pages, three columns)',
      format: 'pdf',
      ext: 'pdf',
      bytes: [sharedPdf('federal-register-2020-17221.pdf')],
      pages: 15,
    },
    { source: '20 article pages of 100 KB prose', format: 'html', ext: 'html', bytes: prose.map((d) => Buffer.from(articlePage(d))) },
    {
      source: '20 Word documents of 100 KB prose',
      format: 'docx',
      ext: 'docx',
      bytes: await Promise.all(prose.map((d) => docxFile(wordBlocks(d)))),
    },
    { source: '20 Markdown files of 100 KB prose', format: 'markdown', ext: 'md', bytes: prose.map((d) => Buffer.from(d)) },
  ];
}

/** Parsing alone, in this process, per format. The service parses PDF, HTML and Word in a child process; this measures the parser, not the transfer. */
export async function runParseBench(): Promise<ParseRow[]> {
  const sources = await formatSources();
  const rows: ParseRow[] = [];
  for (const { source, format, bytes } of sources) {
    const mb = bytes.reduce((n, b) => n + b.length, 0) / 1e6;
    let textMb = 0;
    const times: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      textMb = 0;
      for (const b of bytes) textMb += Buffer.byteLength((await parseSource(b, format)).text) / 1e6;
      times.push((performance.now() - t0) / 1000);
    }
    const seconds = times.sort((a, b) => a - b)[1];
    rows.push({
      source,
      format,
      MB: mb,
      'text MB': textMb,
      'seconds (median of 3)': seconds,
      'MB/s': mb / seconds,
      'text MB/s': textMb / seconds,
    });
  }
  return rows;
}
