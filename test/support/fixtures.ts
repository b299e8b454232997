import path from 'node:path';

/** ../shared/data beside the repository: referenced from tests, never copied into the product. */
export const SHARED_DATA = path.resolve(__dirname, '../../../shared/data');
export const sharedPdf = (name: string) => path.join(SHARED_DATA, 'pdfs', name);

/** The sixteen words generated texts are made of. */
export const VOCABULARY = [
  'river',
  'mountain',
  'ledger',
  'quartz',
  'harbor',
  'lantern',
  'orchard',
  'signal',
  'meadow',
  'copper',
  'falcon',
  'glacier',
  'archive',
  'compass',
  'timber',
  'beacon',
];

/** Deterministic prose-like text of roughly `words` words, unique per seed. */
export function generatedText(seed: number, words: number): string {
  let x = seed * 2654435761 + 1;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(VOCABULARY[x % VOCABULARY.length]);
    if (i % 12 === 11) out.push('.');
    if (i % 120 === 119) out.push('\n\n');
  }
  return out.join(' ');
}
