import { constants, createDeflate } from 'node:zlib';

/**
 * Hostile PDFs, generated in memory by a minimal PDF writer (header, numbered objects, a cross-reference table,
 * trailer): each is small to send and expensive to parse, and otherwise well-formed so pdf.js does not reject it early.
 */

/** The object bodies, numbered from 1 in order; object 1 is the catalog. */
function writePdf(objects: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    const bytes = Buffer.concat([
      Buffer.from(`${i + 1} 0 obj\n`),
      Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'),
      Buffer.from('\nendobj\n'),
    ]);
    offsets.push(offset);
    offset += bytes.length;
    parts.push(bytes);
  });
  // Each xref entry is exactly 20 bytes, as the format requires.
  const xref = [
    `xref\n0 ${objects.length + 1}\n`,
    '0000000000 65535 f \n',
    ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`),
  ];
  parts.push(
    Buffer.from(`${xref.join('')}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${offset}\n%%EOF\n`, 'latin1'),
  );
  return Buffer.concat(parts);
}

const stream = (data: Buffer, dict = '') =>
  Buffer.concat([Buffer.from(`<< /Length ${data.length}${dict} >>\nstream\n`, 'latin1'), data, Buffer.from('\nendstream', 'latin1')]);

/** Resources and page size live on the page tree root, which every page inherits them from, so a page is one short line. */
const PAGES_DEFAULTS = '/MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>';
const FONT = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
const textContent = (text: string) => Buffer.from(`BT /F1 12 Tf 72 720 Td (${text}) Tj ET`, 'latin1');

/** A PDF of `pages` real pages that all show the same tiny content stream (about 60 bytes a page). */
export function pageBombPdf(pages: number): Buffer {
  const firstPage = 5;
  const kids = Array.from({ length: pages }, (_, i) => `${firstPage + i} 0 R`).join(' ');
  return writePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Count ${pages} ${PAGES_DEFAULTS} /Kids [${kids}] >>`,
    FONT,
    stream(textContent('Same page again')),
    ...Array.from({ length: pages }, () => '<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>'),
  ]);
}

/** A one-page PDF whose content stream holds `depth` nested arrays before its text (`[[[...]]] TJ`). */
export function nestedArraysPdf(depth: number): Buffer {
  const content = Buffer.from(`BT /F1 12 Tf 72 720 Td ${'['.repeat(depth)}(deep)${']'.repeat(depth)} TJ ET`, 'latin1');
  return onePagePdf(stream(content), `/Nested ${'['.repeat(depth)}1${']'.repeat(depth)}`);
}

/** A one-page PDF whose page dictionary nests `depth` dictionaries (`<< /A << /A ... >> >>`). */
export function nestedDictionariesPdf(depth: number): Buffer {
  return onePagePdf(stream(textContent('deep')), `/Nested ${'<< /A '.repeat(depth)}1${' >>'.repeat(depth)}`);
}

/**
 * A one-page PDF whose content stream is `decodedMb` MB of spaces (white space to the content lexer) compressed with
 * Flate to about a thousandth of that: pdf.js keeps the whole decoded stream in memory while reading it.
 */
export async function flateBombPdf(decodedMb: number): Promise<Buffer> {
  const data = await deflateRepeated(Buffer.alloc(1024 * 1024, 0x20), decodedMb);
  return onePagePdf(stream(data, ' /Filter /FlateDecode'));
}

function onePagePdf(contents: Buffer, extraPageEntries = ''): Buffer {
  return writePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Count 1 ${PAGES_DEFAULTS} /Kids [5 0 R] >>`,
    FONT,
    contents,
    `<< /Type /Page /Parent 2 0 R /Contents 4 0 R ${extraPageEntries} >>`,
  ]);
}

/**
 * zlib data of `chunk` repeated `times` times, without building the whole input: deflate streams it, so the input is
 * never held, and a full gigabyte of spaces takes a second or two to compress.
 */
async function deflateRepeated(chunk: Buffer, times: number): Promise<Buffer> {
  const deflate = createDeflate({ level: constants.Z_BEST_COMPRESSION });
  const out: Buffer[] = [];
  deflate.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  for (let i = 0; i < times; i++) {
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return Buffer.concat(out);
}
