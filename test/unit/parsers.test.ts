import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../src/errors';
import { parseSource } from '../../src/ingest/parsers';
import { decodeUtf8Strict } from '../../src/ingest/parsers/decode-text';
import { detectFormat } from '../../src/ingest/parsers/detect-format';
import { htmlToMarkdown } from '../../src/ingest/parsers/html';
import { docxFile } from '../support/docx-file';
import { normalizePdfText, parsePdf } from '../../src/ingest/parsers/pdf';
import { ParsePool } from '../../src/ingest/parse-sandbox/parse-pool';
import { createLogger } from '../../src/infra/logger';
import { nestedArraysPdf, nestedDictionariesPdf, pageBombPdf } from '../support/pdf-bombs';

const PDFS = path.resolve(__dirname, '../../../shared/data/pdfs');
const pdf = (name: string) => readFileSync(path.join(PDFS, name));

/** The AppError a promise rejects with, for asserting on several of its fields. */
async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

/** NFKC, lower case, whitespace runs as one space: what a character error rate compares. */
const normalized = (s: string) => s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

/** Levenshtein distance over the reference's length, on normalized text. */
function characterErrorRate(read: string, truth: string): number {
  const a = normalized(read);
  const b = normalized(truth);
  let prev = Int32Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length] / b.length;
}

describe('detectFormat', () => {
  const utf8 = Buffer.from('# Title\n\nSome text — with ünïcode.\n');

  it('When the bytes start with %PDF-, Then it is a PDF whatever the name or type', () => {
    expect(detectFormat('scan.bin', 'application/octet-stream', Buffer.from('%PDF-1.7\n%âãÏÓ\n'))).toBe('pdf');
    expect(detectFormat(undefined, undefined, pdf('tracemonkey.pdf').subarray(0, 1024))).toBe('pdf');
  });

  it('When the name or type says PDF, Then it is a PDF (the parser reports a missing signature)', () => {
    expect(detectFormat('report.PDF', undefined, Buffer.from('not really'))).toBe('pdf');
    expect(detectFormat(undefined, 'application/pdf', Buffer.from('not really'))).toBe('pdf');
  });

  it.each([
    ['notes.md', undefined, 'markdown'],
    ['notes.markdown', 'application/octet-stream', 'markdown'],
    [undefined, 'text/markdown; charset=utf-8', 'markdown'],
    ['README', 'text/x-markdown', 'markdown'],
    ['notes.md', 'text/plain', 'markdown'], // the extension is more specific than what browsers send
    ['a.txt', undefined, 'text'],
    [undefined, 'text/plain', 'text'],
    ['page.html', undefined, 'html'],
    ['page.HTM', undefined, 'html'],
    [undefined, 'Text/HTML;charset=UTF-8', 'html'],
  ])('When named %s with type %s, Then it is %s', (name, mime, expected) => {
    expect(detectFormat(name, mime, utf8)).toBe(expected);
  });

  it('When a ZIP archive is a Word document by its entries or its name, Then it is docx; another archive is not', async () => {
    const word = (await docxFile([{ paragraph: 'x' }])).subarray(0, 1024);
    expect(detectFormat(undefined, 'application/octet-stream', word)).toBe('docx'); // by content alone
    expect(detectFormat('report.pdf', 'application/pdf', word)).toBe('docx'); // the bytes win over a wrong name
    expect(detectFormat('Report.DOCX', undefined, Buffer.from('PK\u0003\u0004 corrupt'))).toBe('docx'); // its parser says docx_invalid
    expect(detectFormat('old.docx', undefined, Buffer.from('\xd0\xcf\x11\xe0 a .doc', 'latin1'))).toBe('docx');
    expect(detectFormat('sheet.xlsx', undefined, Buffer.from('PK\u0003\u0004\u0014\u0000xl/workbook.xml'))).toBeUndefined();
  });

  it('When there is no extension nor useful type, Then UTF-8 text is text (or HTML by its doctype)', () => {
    expect(detectFormat('LICENSE', undefined, utf8)).toBe('text');
    expect(detectFormat(undefined, 'application/octet-stream', utf8)).toBe('text');
    expect(detectFormat('page', undefined, Buffer.from('<!DOCTYPE html>\n<html><body>x</body></html>'))).toBe('html');
    // The head may end inside a multi-byte character.
    const cutInsideCharacter = Buffer.from('é'.repeat(600)).subarray(0, 1023);
    expect(detectFormat(undefined, undefined, cutInsideCharacter)).toBe('text');
  });

  it('When the bytes are a PNG, JPEG or TIFF, Then it is an image (read by OCR), whatever the name', () => {
    expect(detectFormat('page.png', 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]))).toBe(
      'image',
    );
    expect(detectFormat('photo.txt', 'text/plain', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe('image');
    expect(detectFormat(undefined, undefined, Buffer.from('II*\x00\x08\x00', 'latin1'))).toBe('image');
    expect(detectFormat(undefined, undefined, Buffer.from('MM\x00*\x00\x00', 'latin1'))).toBe('image');
  });

  it('When the content is binary or the type unknown, Then it is undefined (415)', () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1');
    expect(detectFormat('image.gif', 'image/gif', gif)).toBeUndefined();
    expect(detectFormat(undefined, undefined, gif)).toBeUndefined();
    expect(detectFormat('blob', 'application/octet-stream', Buffer.from([0xff, 0xfe, 0x41, 0x00]))).toBeUndefined();
    expect(detectFormat('data.csv', 'text/csv', utf8)).toBeUndefined();
    expect(detectFormat('archive.zip', 'application/zip', Buffer.from('PK\u0003\u0004'))).toBeUndefined();
    expect(detectFormat('utf16.txt', 'text/plain', Buffer.from('\ufeffhi', 'utf16le'))).toBeUndefined(); // NULs
    expect(detectFormat(undefined, undefined, Buffer.alloc(0))).toBeUndefined();
  });
});

describe('decodeUtf8Strict', () => {
  it('When the bytes are UTF-8, Then they decode, without a leading BOM', () => {
    expect(decodeUtf8Strict(Buffer.from('\ufeffhé 東京 😀'))).toBe('hé 東京 😀');
  });

  it('When the bytes are not UTF-8, Then it refuses with invalid_encoding (400) and where', () => {
    const latin1 = Buffer.from('caf\u00e9 au lait', 'latin1');
    try {
      decodeUtf8Strict(latin1);
      throw new Error('expected a throw');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      const e = err as AppError;
      expect([e.code, e.status, e.message, e.retryable]).toEqual(['invalid_encoding', 400, 'The file is not valid UTF-8 text', false]);
      expect(e.details).toEqual({ encoding: 'utf-8', offset: 3 });
    }
  });
});

describe('text and markdown', () => {
  it('When a text or markdown file has CRLF or CR line ends, Then they become LF and the rest is kept', async () => {
    const bytes = Buffer.from('# Title\r\n\r\nLine one\rLine two\n  indented  \n');
    expect(await parseSource(bytes, 'markdown')).toEqual({ format: 'markdown', text: '# Title\n\nLine one\nLine two\n  indented  \n' });
    expect(await parseSource(bytes, 'text')).toEqual({ format: 'text', text: '# Title\n\nLine one\nLine two\n  indented  \n' });
  });

  it('When a text file is not UTF-8, Then parsing refuses it', async () => {
    expect((await rejection(parseSource(Buffer.from([0x61, 0xff, 0x62]), 'text'))).code).toBe('invalid_encoding');
  });
});

describe('html', () => {
  const page = `<!DOCTYPE html>
<html><head><title>Ignored title</title><style>body { color: red }</style>
<script>var x = "<h1>not text</h1>";</script></head>
<body>
  <!-- a comment -->
  <h1 class="t">Guide &amp; <em>Manual</em></h1>
  <p>First   paragraph
     spans lines.<br>After a break.</p>
  <h2>Install</h2>
  <div><p>Run it &mdash; then check &lt;output&gt; &#x1F600; &#233;t&eacute; AT&T &copy=2.</p></div>
  <ul><li>one</li><li>two</li></ul>
  <pre><code>if (a &lt; b) {
    # keep   spacing
}</code></pre>
  <p># not a heading</p>
  <h3>  </h3>
  <table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>7</td></tr></table>
  <noscript>enable JS</noscript>
</body></html>`;

  it('When converting HTML, Then headings become # lines, blocks paragraphs, and scripts, styles and tags go', async () => {
    const doc = await parseSource(Buffer.from(page), 'html');
    expect(doc.format).toBe('html');
    expect(doc.text).toBe(
      [
        '# Guide & Manual',
        'First paragraph spans lines.\nAfter a break.',
        '## Install',
        // `&copy` without its semicolon is ©, as a browser reads it.
        'Run it — then check <output> 😀 été AT&T ©=2.',
        '-   one\n-   two',
        '```\nif (a < b) {\n    # keep   spacing\n}\n```',
        '\\# not a heading',
        '| Name | Age |\n| Ann | 7 |',
      ].join('\n\n'),
    );
  });

  it('When a saved page has an article among navigation, banners and a footer, Then only the article is kept, under its title', async () => {
    const words = (s: string) => `<p>${s.repeat(5)}</p>`;
    const page = `<!DOCTYPE html><html><head><title>Sea otters</title></head><body>
      <nav><a href="/">Home</a> <a href="/shop">Gift shop</a></nav><div class="cookie-banner">Accept cookies</div>
      <article><h1>Sea otters</h1>${words('Sea otters crack open mussels with stones while floating on their backs. ')}
      <h2>Habitat</h2>${words('They live in kelp forests along the coasts of the North Pacific Ocean. ')}</article>
      <footer>Copyright, terms of use</footer></body></html>`;
    const doc = await parseSource(Buffer.from(page), 'html');
    expect(doc.text.startsWith('# Sea otters\n\nSea otters crack open mussels')).toBe(true);
    expect(doc.text).toContain('## Habitat\n\nThey live in kelp forests');
    for (const frame of ['Gift shop', 'Accept cookies', 'Copyright']) expect(doc.text).not.toContain(frame);
  });

  it('When elements nest thousands of levels deep, Then it fails for good as html_too_deep, not as a crash', async () => {
    const err = await rejection(parseSource(Buffer.from('<div>'.repeat(20_000) + 'deep'), 'html'));
    expect([err.code, err.status, err.retryable]).toEqual(['html_too_deep', 422, false]);
  });

  it('When HTML has attributes with > or unclosed comments, Then no markup leaks into the text', async () => {
    const md = (html: string) => htmlToMarkdown(html, { mainContent: false });
    expect(await md('<p title="a > b" data-x=\'<br>\'>Hi</p><!-- unclosed <p>gone')).toBe('Hi');
    expect(await md('<h2>A<br>B</h2><p>x</p>')).toBe('## A B\n\nx');
    // The whole HTML entity table, not a hand-kept part of it.
    expect(await md('plain &unknown; &#0; &#x110000; &hellip; &NotEqualTilde; &nbsp;.')).toBe('plain &unknown; \ufffd \ufffd … ≂̸ \u00a0.');
  });
});

describe('docx', () => {
  it('When a Word document has headings, lists and a table, Then it becomes Markdown with them', async () => {
    const bytes = await docxFile([
      { heading: 1, text: 'Field guide' },
      { paragraph: 'Otters use stones & shells.' },
      { heading: 2, text: 'Tools' },
      { bullet: 'stone' },
      { bullet: 'kelp' },
      {
        table: [
          ['Region', 'Count'],
          ['Alaska', '73,000'],
        ],
      },
    ]);
    const doc = await parseSource(bytes, 'docx');
    expect(doc.format).toBe('docx');
    expect(doc.text).toBe(
      '# Field guide\n\nOtters use stones & shells.\n\n## Tools\n\n-   stone\n-   kelp\n\n| Region | Count |\n| Alaska | 73,000 |',
    );
  });

  it('When the file is not a readable .docx or has no text, Then it fails for good with its own code', async () => {
    await expect(parseSource(Buffer.from('PK\u0003\u0004 not a zip'), 'docx')).rejects.toMatchObject({
      code: 'docx_invalid',
      retryable: false,
    });
    await expect(parseSource(await docxFile([{ paragraph: '   ' }]), 'docx')).rejects.toMatchObject({ code: 'docx_no_text' });
  });
});

describe('pdf', () => {
  it('When parsing a 14-page paper, Then the text keeps its pages and page spans locate each phrase', async () => {
    const bytes = pdf('tracemonkey.pdf');
    const before = Buffer.from(bytes);
    const doc = await parsePdf(bytes);
    expect(bytes.equals(before)).toBe(true); // the caller's buffer is neither detached nor changed
    expect(doc.format).toBe('pdf');
    expect(doc.pages!.map((p) => p.num)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    const pageOf = (phrase: string) => {
      const at = doc.text.indexOf(phrase);
      expect(at).toBeGreaterThanOrEqual(0);
      return doc.pages!.find((p) => p.start <= at && at < p.end)!.num;
    };
    expect(pageOf('Trace-based Just-in-Time Type Specialization')).toBe(1);
    expect(pageOf('Figure 3. LIR snippet for sample program')).toBe(3);
    expect(pageOf('Figure 4. x86 snippet for sample program')).toBe(3);
    // Spans are ordered, disjoint and separated by a paragraph break.
    doc.pages!.forEach((p, i) => {
      expect(p.end).toBeGreaterThan(p.start);
      if (i > 0) {
        expect(p.start).toBe(doc.pages![i - 1].end + 2);
        expect(doc.text.slice(doc.pages![i - 1].end, p.start)).toBe('\n\n');
      }
    });
    expect(doc.pages![13].end).toBe(doc.text.length);
    // "pro-\ngram" at a line end is rejoined; "Trace-\nMonkey" (capital after the hyphen) is left alone.
    expect(doc.text).toContain('translate a program to nested');
    expect(doc.text).not.toMatch(/ {2}/);
  });

  // Reading order of text-layer pages, checked against the printed pages (rendered and read by eye), not against
  // another extractor: poppler's pdftotext puts page 1's "Comments Invited" of the Federal Register before the
  // column it follows.
  it.each([
    [
      'tracemonkey.pdf', // two columns
      [
        'Abstract',
        '1. Introduction',
        '2. Overview',
        '3. Trace Trees',
        '4. Nested Trace Tree Formation',
        '5. Trace Tree Optimization',
        '6. Implementation',
        '7. Evaluation',
        '8. Related Work',
        '9. Conclusions',
        '10. Future Work',
        'References',
      ],
    ],
    [
      'federal-register-2020-17221.pdf', // three columns, page 1 read down each column in turn
      [
        'This section of the FEDERAL REGISTER contains notices to the public',
        'The FAA proposes to supersede Airworthiness Directive (AD) 2018–23–51, which applies to all The Boeing',
        'You may send comments, using the procedures',
        'Federal eRulemaking Portal',
        'Examining the AD Docket',
        'FOR FURTHER INFORMATION CONTACT',
        'Comments Invited',
        'The FAA invites you to participate in this rulemaking',
        'Confidential Business Information (CBI)',
        'Background On October 29, 2018, a Boeing Model',
      ],
    ],
  ])(
    'When the multi-column PDF %s is parsed, Then its sections come in reading order, sentences whole across lines',
    async (name, inOrder) => {
      const text = (await parsePdf(pdf(name))).text.replace(/\s+/g, ' ');
      const at = inOrder.map((phrase) => text.indexOf(phrase));
      expect(at.every((i) => i >= 0)).toBe(true);
      expect(at).toEqual([...at].sort((a, b) => a - b));
    },
  );

  it('When the PDF is encrypted, Then it fails as pdf_encrypted (422, not retryable)', async () => {
    const err = await rejection(parsePdf(pdf('password-example.pdf')));
    expect([err.code, err.status, err.retryable]).toEqual(['pdf_encrypted', 422, false]);
    expect(err.message).toMatch(/password-protected.*decrypted/);
  });

  it.each(['c02-22.pdf', 'linn.pdf'])(
    'When the PDF %s is an image-only scan and OCR is off, Then it fails as ocr_unavailable',
    async (name) => {
      const err = await rejection(parsePdf(pdf(name)));
      expect([err.code, err.status, err.retryable]).toEqual(['ocr_unavailable', 422, false]);
      expect(err.message).toMatch(/needs OCR.*tesseract-ocr/);
    },
  );

  it('When linn.pdf, a two-column scan, is read by OCR, Then its text is within 2% of the true text, columns in order', async () => {
    const doc = await parsePdf(pdf('linn.pdf'), { ocr: true });
    const truth = readFileSync(path.resolve(__dirname, '../../../shared/data/pdfs/linn.txt'), 'utf8');
    expect(characterErrorRate(doc.text, truth)).toBeLessThan(0.02);
    expect(doc.ocr?.pages).toEqual([1]);
    expect(doc.ocr?.meanConfidence).toBeGreaterThan(80);
    expect(doc.pages).toEqual([{ num: 1, start: 0, end: doc.text.length }]);
    // Reading order: the paragraphs' openings (those OCR read exactly) come in the true text's order, left column first.
    const read = normalized(doc.text);
    const once = (text: string, part: string) => text.indexOf(part) >= 0 && text.indexOf(part) === text.lastIndexOf(part);
    const firstLines = truth
      .split('\n\n')
      .map((p) => normalized(p).slice(0, 20))
      .filter((p) => p.length === 20 && once(normalized(truth), p));
    const at = firstLines.filter((line) => once(read, line)).map((line) => read.indexOf(line));
    expect(at.length).toBeGreaterThan(firstLines.length / 3);
    expect(at).toEqual([...at].sort((a, b) => a - b));
  }, 60_000);

  it('When a textual PDF has a scanned page inside, Then only that page is read by OCR and every page keeps its number', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ragmem-mixed-'));
    try {
      const mixed = path.join(dir, 'mixed.pdf');
      const shared = (name: string) => path.resolve(__dirname, '../../../shared/data/pdfs', name);
      execFileSync('pdfunite', [shared('nics-background-checks-2015-11.pdf'), shared('c02-22.pdf'), mixed]);
      const doc = await parsePdf(readFileSync(mixed), { ocr: true });
      expect(doc.ocr?.pages).toEqual([2]);
      const [first, second] = doc.pages!;
      expect(doc.text.slice(first.start, first.end)).toContain('NICS');
      expect(normalized(doc.text.slice(second.start, second.end))).toContain('tip-toeing along a path');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("When a textual PDF is parsed with OCR on, Then nothing is OCR'd and the text is that of its text layer", async () => {
    const doc = await parsePdf(pdf('nics-background-checks-2015-11.pdf'), { ocr: true });
    expect(doc.ocr).toBeUndefined();
    expect(doc).toEqual(await parsePdf(pdf('nics-background-checks-2015-11.pdf')));
  });

  it('When a photo of a page (PNG) is parsed, Then OCR reads it as one page', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ragmem-png-'));
    try {
      execFileSync('pdftoppm', [
        '-r',
        '200',
        '-png',
        '-singlefile',
        path.resolve(__dirname, '../../../shared/data/pdfs/c02-22.pdf'),
        path.join(dir, 'page'),
      ]);
      const doc = await parseSource(readFileSync(path.join(dir, 'page.png')), 'image', { ocr: true });
      expect(doc.format).toBe('image');
      expect(normalized(doc.text)).toContain('tip-toeing along a path amongst the trees');
      expect(doc.ocr).toMatchObject({ pages: [1] });
      const off = await rejection(parseSource(readFileSync(path.join(dir, 'page.png')), 'image'));
      expect(off.code).toBe('ocr_unavailable');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('When the PDF is truncated, garbage after a header, or empty, Then it fails as pdf_invalid', async () => {
    let seed = 1;
    const noise = Buffer.from(Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff));
    for (const bytes of [
      Buffer.from(pdf('tracemonkey.pdf').subarray(0, 20_000)),
      Buffer.concat([Buffer.from('%PDF-1.7\n'), noise]),
      Buffer.alloc(0),
    ]) {
      const err = await rejection(parseSource(bytes, 'pdf'));
      expect([err.code, err.status, err.retryable]).toEqual(['pdf_invalid', 422, false]);
    }
  });

  it('When a PDF has more pages than maxPages, Then it fails as pdf_too_large before reading a page', async () => {
    const err = await rejection(parsePdf(pageBombPdf(30), { maxPages: 20 }));
    expect([err.code, err.status, err.retryable]).toEqual(['pdf_too_large', 422, false]);
    expect(err.details).toEqual({ max: 20, got: 30 });
    expect((await parsePdf(pageBombPdf(20), { maxPages: 20 })).pages).toHaveLength(20);
  });

  it('When objects nest tens of thousands of levels deep, Then it fails as pdf_invalid (not retried)', async () => {
    for (const bytes of [nestedArraysPdf(50_000), nestedDictionariesPdf(50_000)]) {
      const err = await rejection(parsePdf(bytes));
      expect([err.code, err.retryable]).toEqual(['pdf_invalid', false]);
    }
  });

  it('When page text has layout spacing, Then runs collapse, tabs and paragraphs stay, hyphenated words rejoin', () => {
    expect(normalizePdfText('  Title   here \r\n\r\n\r\n\r\nA  com-\nputer and Trace-\nMonkey\u00ad.\u0000\nName \tAge  \n')).toBe(
      'Title here\n\nA computer and Trace-\nMonkey.\nName\tAge',
    );
  });
});

describe('parse sandbox', () => {
  const pool = new ParsePool({
    ocr: false,
    timeoutMs: 60_000,
    maxPdfPages: 2000,
    maxMemoryMb: 512,
    concurrency: 2,
    logger: createLogger('silent'),
  });
  afterAll(() => pool.close());

  it.each(['tracemonkey.pdf', 'federal-register-2020-17221.pdf', 'nics-background-checks-2015-11.pdf'])(
    'When %s is parsed in a parse process, Then its text and page spans are those of parsing in-process',
    async (name) => {
      const inProcess = await parsePdf(pdf(name));
      const sandboxed = await pool.parse(pdf(name), 'pdf');
      expect(sandboxed).toEqual(inProcess);
      expect(sandboxed.pages!.length).toBeGreaterThan(0);
    },
  );

  const slowPage = Buffer.from('<p>x</p>'.repeat(200_000)); // 1.6 MB of paragraphs: seconds of DOM and Markdown work
  const small = Buffer.from('<p>Small and quick</p>');

  it('When one parse is killed at its time limit, Then the parse waiting behind it runs in a new process and succeeds', async () => {
    const one = new ParsePool({
      ocr: false,
      timeoutMs: 1500,
      maxPdfPages: 10,
      maxMemoryMb: 512,
      concurrency: 1,
      logger: createLogger('silent'),
    });
    try {
      const bomb = one.parse(slowPage, 'html');
      const waiting = one.parse(small, 'html'); // waits its turn: its clock starts when a process takes it
      const err = await rejection(bomb);
      expect([err.code, err.retryable, err.details]).toEqual(['parse_timeout', false, { limitMs: 1500 }]);
      expect((await waiting).text).toBe('Small and quick');
      expect(one.pids()).toHaveLength(1);
    } finally {
      await one.close();
    }
  });

  it('When a parse outgrows the heap limit, Then V8 stops its process and it fails as parse_out_of_memory', async () => {
    // The resident-memory watch is left out (checked hourly) so that the heap limit (--max-old-space-size) trips first.
    const one = new ParsePool({
      ocr: false,
      timeoutMs: 60_000,
      maxPdfPages: 10,
      maxMemoryMb: 128,
      concurrency: 1,
      memoryCheckMs: 3_600_000,
      logger: createLogger('silent'),
    });
    try {
      const err = await rejection(one.parse(Buffer.from('<p>x</p>'.repeat(2_500_000)), 'html')); // 20 MB, millions of lines
      expect([err.code, err.retryable, err.details]).toEqual(['parse_out_of_memory', false, { limitMb: 128 }]);
    } finally {
      await one.close();
    }
  });

  it('When the pool closes, Then running and waiting parses fail retryably, no process is left, and closing again resolves', async () => {
    const one = new ParsePool({
      ocr: false,
      timeoutMs: 60_000,
      maxPdfPages: 10,
      maxMemoryMb: 512,
      concurrency: 1,
      logger: createLogger('silent'),
    });
    await one.parse(small, 'html'); // a ready process, so the bomb below is sent to it at once
    const pids = one.pids();
    const running = one.parse(slowPage, 'html').catch((e: unknown) => e);
    const waiting = one.parse(small, 'html').catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    await one.close();
    for (const outcome of [await running, await waiting]) {
      expect(outcome).toBeInstanceOf(Error);
      expect(outcome).not.toBeInstanceOf(AppError); // not a document failure: another worker retries the job
      expect((outcome as Error).message).toMatch(/shutting down/);
    }
    expect(one.pids()).toEqual([]);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    await expect(one.close()).resolves.toBeUndefined();
    await expect(one.parse(small, 'html')).rejects.toThrow(/closed/);
  });

  it('When a parse fails in a parse process, Then the same AppError code, details and retryability come back', async () => {
    const err = await rejection(pool.parse(pdf('password-example.pdf'), 'pdf'));
    expect([err.code, err.status, err.retryable]).toEqual(['pdf_encrypted', 422, false]);
    const html = await rejection(pool.parse(Buffer.from('caf\u00e9', 'latin1'), 'html'));
    expect([html.code, html.details]).toEqual(['invalid_encoding', { encoding: 'utf-8', offset: 3 }]);
  });
});
