import { Readability, isProbablyReaderable } from '@mozilla/readability';
import type * as Linkedom from 'linkedom' with { 'resolution-mode': 'import' };
import TurndownService from 'turndown';
import { AppError } from '../../errors';
import type { ParsedDocument } from '../../core/parsed-document';
import { decodeUtf8Strict } from './decode-text';

/**
 * HTML becomes Markdown (turndown, on linkedom's DOM): headings as `#` lines the chunker reads as heading paths,
 * lists, tables as `|` rows, code blocks fenced, entities decoded by a real HTML parser. A saved web page is cut down
 * to its main content first (Mozilla's Readability, as Firefox's reader view), so navigation, menus, footers and
 * cookie banners do not crowd the chunks; a page too short for Readability to judge is taken whole, less its
 * navigation and scripts.
 */
export async function parseHtml(bytes: Buffer): Promise<ParsedDocument> {
  return { format: 'html', text: await htmlToMarkdown(decodeUtf8Strict(bytes), { mainContent: true }) };
}

/** Converting walks the DOM recursively: elements nested some thousands deep exhaust the stack. */
function tooDeep(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/**
 * linkedom and the selector engine under it are ES modules: imported, not required, once per process (a parse
 * process), so that any Node 20 and jest's module loader can both load them.
 */
let linkedom: Promise<typeof Linkedom> | undefined;
const loadLinkedom = () => (linkedom ??= import('linkedom'));

/** Elements a reader never sees, or that frame a page rather than say anything (taken out of a whole-page read). */
const NOT_CONTENT = ['script', 'style', 'noscript', 'template', 'iframe', 'object', 'embed', 'svg', 'math', 'head', 'canvas'];
const PAGE_FRAME = ['nav', 'header', 'footer', 'aside', 'form', 'button', 'dialog'];

export async function htmlToMarkdown(html: string, opts: { mainContent: boolean }): Promise<string> {
  const { parseHTML } = await loadLinkedom();
  try {
    return convert(parseHTML, html, opts);
  } catch (err) {
    if (!tooDeep(err)) throw err;
    throw new AppError('html_too_deep', 'The HTML nests elements too deeply to read (thousands of levels)', undefined, {
      cause: err,
      retryable: false,
    });
  }
}

function convert(parseHTML: typeof Linkedom.parseHTML, html: string, opts: { mainContent: boolean }): string {
  const { document } = parseHTML(html.includes('<html') ? html : `<!doctype html><html><body>${html}</body></html>`);
  let root: unknown = document.body ?? document.documentElement;
  let title: string | undefined;
  if (opts.mainContent && isProbablyReaderable(document as never)) {
    // Readability rewrites the document it reads: give it its own copy.
    const article = new Readability(parseHTML(html).document as never, { keepClasses: false }).parse();
    if (article?.content) {
      root = article.content;
      // Readability turns the page's <h1>s into <h2>s under the article's title: the title becomes the top heading.
      title = article.title?.trim() || undefined;
    }
  } else {
    for (const el of document.querySelectorAll(PAGE_FRAME.join(','))) el.remove();
  }
  const markdown = converter().turndown(root as string);
  const text = title && !markdown.startsWith('# ') ? `# ${title}\n\n${markdown}` : markdown;
  return text
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function insideHeading(node: { parentNode: unknown }): boolean {
  for (let p = node.parentNode as { nodeName?: string; parentNode: unknown } | null; p; p = p.parentNode as typeof p) {
    if (p.nodeName && /^H[1-6]$/.test(p.nodeName)) return true;
  }
  return false;
}

let shared: TurndownService | undefined;
/** One converter per process: its rules never change. */
function converter(): TurndownService {
  if (shared) return shared;
  const td = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-', emDelimiter: '_' });
  td.remove(NOT_CONTENT as TurndownService.Filter);
  // Emphasis and links carry no meaning for search: their text only.
  td.addRule('plain-inline', { filter: ['em', 'i', 'strong', 'b', 'u', 'mark', 'small', 'sub', 'sup'], replacement: (content) => content });
  td.addRule('link-text', { filter: (node) => node.nodeName === 'A', replacement: (content) => content });
  td.addRule('image-alt', {
    filter: 'img',
    replacement: (_content, node) => ((node as { getAttribute(name: string): string | null }).getAttribute('alt') ?? '').trim(),
  });
  // A line break ends a line, except in a heading, which must stay one `#` line.
  td.addRule('line-break', { filter: 'br', replacement: (_content, node) => (insideHeading(node) ? ' ' : '\n') });
  // A table is rows of cells: one line per row, cells between `|`, so a row keeps its values together in a chunk.
  td.addRule('table-cell', {
    filter: ['th', 'td'],
    replacement: (content) => ` ${content.replace(/\s*\n\s*/g, ' ').trim()} |`,
  });
  td.addRule('table-row', { filter: 'tr', replacement: (content) => `\n|${content}` });
  td.addRule('table', {
    filter: (node) => node.nodeName === 'TABLE',
    replacement: (content) => `\n\n${content.replace(/\n{2,}/g, '\n').trim()}\n\n`,
  });
  td.addRule('table-parts', { filter: ['thead', 'tbody', 'tfoot'], replacement: (content) => content });
  td.addRule('caption', { filter: 'caption', replacement: (content) => `\n${content.trim()}\n` });
  // Escape only what would change the structure the chunker reads (a line that starts with #, a fence); the rest of
  // Markdown's escapes (`\_`, `\*`, `\=`) would only put backslashes into the stored text.
  // Spaces and tabs only before the marker: `\s*` would also cross newlines and rescan every line below (quadratic on
  // a text of blank lines).
  td.escape = (s: string) => s.replace(/^([ \t]*)(#{1,6}[ \t]|```|~~~)/gm, '$1\\$2');
  shared = td;
  return td;
}
