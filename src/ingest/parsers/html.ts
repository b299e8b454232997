import type { ParsedDocument } from '../../core/parsed-document';
import { decodeUtf8Strict } from './decode-text';

/** HTML becomes markdown-flavoured text: headings as `#` lines (the chunker reads them), blocks as paragraphs. */
export function parseHtml(bytes: Buffer): ParsedDocument {
  return { format: 'html', text: htmlToText(decodeUtf8Strict(bytes)) };
}

/** Elements whose content is not text a reader sees. */
const DROPPED = /<(script|style|noscript|template|svg|math|head|iframe|object)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const COMMENT = /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?\]\]>|<![^>]*>|<\?[\s\S]*?\?>/g;
const PRE = /<pre\b[^>]*>([\s\S]*?)<\/pre\s*>/gi;
/** A start or end tag; quoted attribute values may contain `>`. */
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)(?:[^>"']|"[^"]*"|'[^']*')*>/g;
const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'hr',
  'html',
  'legend',
  'main',
  'nav',
  'ol',
  'p',
  'section',
  'summary',
  'table',
  'tbody',
  'tfoot',
  'thead',
  'ul',
]);
/** Private-use markers: one stands in for a <pre> block while the rest is reflowed, one tags the headings we write. */
const PRE_MARK = '\uE000';
const HEADING_MARK = '\uE001';

/**
 * A careful regex converter, not a full HTML parser: enough for documents (articles, exported pages), without a
 * dependency. Whitespace is collapsed as a browser would, except in <pre>, which becomes a fenced code block.
 */
export function htmlToText(html: string): string {
  const pres: string[] = [];
  let s = html.replace(/\r\n?/g, '\n').replace(/[\uE000\uE001]/g, '');
  s = s.replace(COMMENT, ' ').replace(DROPPED, ' ');
  s = s.replace(PRE, (_m, inner: string) => {
    pres.push(decodeEntities(inner.replace(/<br\s*\/?>/gi, '\n').replace(TAG, '')).replace(/^\n/, ''));
    return `${PRE_MARK}${pres.length - 1}${PRE_MARK}`;
  });
  s = s.replace(/\s+/g, ' ');

  // One pass over the tags; inside a heading, breaks become spaces so the heading stays on one line.
  let headingLevel = 0;
  s = s.replace(TAG, (_m, slash: string, rawName: string) => {
    const name = rawName.toLowerCase();
    const h = /^h([1-6])$/.exec(name);
    if (h) {
      if (slash) {
        headingLevel = 0;
        return '\n\n';
      }
      headingLevel = Number(h[1]);
      return `\n\n${HEADING_MARK}${'#'.repeat(headingLevel)} `;
    }
    if (headingLevel > 0) return name === 'br' || BLOCK.has(name) || name === 'li' ? ' ' : '';
    if (name === 'br') return '\n';
    if (name === 'li') return slash ? '' : '\n- ';
    if (name === 'tr') return slash ? '' : '\n';
    if (name === 'td' || name === 'th') return slash ? '\t' : '';
    return BLOCK.has(name) ? '\n\n' : '';
  });
  s = decodeEntities(s);

  const lines: string[] = [];
  for (const line of s.split('\n')) {
    const t = line.replace(/[ \t\u00a0]+/g, (ws) => (ws.includes('\t') ? '\t' : ' ')).trim();
    if (t.startsWith(HEADING_MARK)) {
      if (/[^#\s]/.test(t.slice(1))) lines.push(t.slice(1)); // an empty heading is dropped
    } else if (/^(?:#|```|~~~)/.test(t)) {
      lines.push(`\\${t}`); // text that merely starts like a heading or a fence must not read as one
    } else {
      lines.push(t);
    }
  }
  s = lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();

  return s
    .replace(new RegExp(`${PRE_MARK}(\\d+)${PRE_MARK}`, 'g'), (_m, i: string) => {
      const code = pres[Number(i)].replace(/\s+$/, '');
      const longestRun = Math.max(2, ...(code.match(/`+/g) ?? []).map((r) => r.length));
      const fence = '`'.repeat(longestRun + 1);
      return `\n\n${fence}\n${code}\n${fence}\n\n`;
    })
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  shy: '',
  ensp: ' ',
  emsp: ' ',
  thinsp: ' ',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  lsquo: '‘',
  rsquo: '’',
  sbquo: '‚',
  ldquo: '“',
  rdquo: '”',
  bdquo: '„',
  laquo: '«',
  raquo: '»',
  bull: '•',
  middot: '·',
  copy: '©',
  reg: '®',
  trade: '™',
  deg: '°',
  plusmn: '±',
  times: '×',
  divide: '÷',
  minus: '−',
  le: '≤',
  ge: '≥',
  ne: '≠',
  asymp: '≈',
  infin: '∞',
  frac12: '½',
  frac14: '¼',
  frac34: '¾',
  sup2: '²',
  sup3: '³',
  micro: 'µ',
  para: '¶',
  sect: '§',
  euro: '€',
  pound: '£',
  yen: '¥',
  cent: '¢',
  dagger: '†',
  Dagger: '‡',
  permil: '‰',
  larr: '←',
  rarr: '→',
  uarr: '↑',
  darr: '↓',
  harr: '↔',
  alpha: 'α',
  beta: 'β',
  gamma: 'γ',
  delta: 'δ',
  lambda: 'λ',
  mu: 'μ',
  pi: 'π',
  sigma: 'σ',
  Agrave: 'À',
  Aacute: 'Á',
  Acirc: 'Â',
  Auml: 'Ä',
  Aring: 'Å',
  Ccedil: 'Ç',
  Egrave: 'È',
  Eacute: 'É',
  Ecirc: 'Ê',
  Euml: 'Ë',
  Iacute: 'Í',
  Ntilde: 'Ñ',
  Oacute: 'Ó',
  Ouml: 'Ö',
  Oslash: 'Ø',
  Uacute: 'Ú',
  Uuml: 'Ü',
  szlig: 'ß',
  agrave: 'à',
  aacute: 'á',
  acirc: 'â',
  atilde: 'ã',
  auml: 'ä',
  aring: 'å',
  aelig: 'æ',
  ccedil: 'ç',
  egrave: 'è',
  eacute: 'é',
  ecirc: 'ê',
  euml: 'ë',
  igrave: 'ì',
  iacute: 'í',
  icirc: 'î',
  iuml: 'ï',
  ntilde: 'ñ',
  ograve: 'ò',
  oacute: 'ó',
  ocirc: 'ô',
  otilde: 'õ',
  ouml: 'ö',
  oslash: 'ø',
  ugrave: 'ù',
  uacute: 'ú',
  ucirc: 'û',
  uuml: 'ü',
  yacute: 'ý',
  yuml: 'ÿ',
};

const BARE_OK = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp']);

/** Numeric references and the common named ones; unknown names are left as written. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(
    /&(?:#(\d{1,7});?|#[xX]([0-9a-fA-F]{1,6});?|([a-zA-Z][a-zA-Z0-9]{1,31})(;?))/g,
    (m, dec?: string, hex?: string, name?: string, semi?: string) => {
      // Without its semicolon only the classic few decode (`&copy` in "?a=1&copy=2" is a parameter, not ©).
      if (name !== undefined) return semi || BARE_OK.has(name) ? (NAMED_ENTITIES[name] ?? m) : m;
      const cp = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex!, 16);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(cp);
    },
  );
}
