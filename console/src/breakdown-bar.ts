import type { ContextBreakdown } from '../../src/client';
import { h } from './dom';

/** The parts of a prompt in the order they are built (src/context/build-context.ts), each with its colour class. */
export const PARTS = ['system', 'summary', 'recalled', 'retrieved', 'window', 'question'] as const;

/** A share of the budget as a CSS width, to 0.01%. */
export const widthOf = (tokens: number, budget: number) => `${budget > 0 ? Math.round((tokens / budget) * 10_000) / 100 : 0}%`;

/**
 * How one answer's prompt spent its budget: a stacked bar whose segments are each part's tokens as a share of the
 * budget (the empty rest is what was left unused), and a legend with the token counts.
 *
 * The parts are counted block by block; `used` counts the whole prompt at once, and joining blocks with blank lines
 * can add or save a few tokens (see build-context.ts), which the legend shows as "joins" when it is not zero.
 */
export function breakdownBar(context: ContextBreakdown): HTMLElement {
  const { budget, used, parts } = context;
  const joins = used - PARTS.reduce((sum, part) => sum + parts[part], 0);
  const bar = h('div', { class: 'bar', role: 'img', 'aria-label': `${used} of ${budget} tokens used` });
  const legend = h('ul', { class: 'legend' });
  for (const part of PARTS) {
    const tokens = parts[part];
    const segment = h('div', {
      class: `segment part-${part}`,
      'data-part': part,
      'data-tokens': tokens,
      title: `${part}: ${tokens} tokens`,
    });
    // CSSOM, not a style attribute: the console's Content-Security-Policy allows no inline styles.
    segment.style.width = widthOf(tokens, budget);
    bar.append(segment);
    legend.append(
      h(
        'li',
        { 'data-part': part },
        h('span', { class: `swatch part-${part}` }),
        `${part} `,
        h('span', { class: 'tokens', 'data-tokens': tokens }, tokens.toLocaleString('en')),
      ),
    );
  }
  if (joins !== 0) {
    legend.append(
      h('li', { 'data-part': 'joins' }, 'joins ', h('span', { class: 'tokens', 'data-tokens': joins }, `${joins > 0 ? '+' : ''}${joins}`)),
    );
  }
  const percent = budget > 0 ? Math.round((used / budget) * 100) : 0;
  return h(
    'figure',
    { class: 'breakdown', 'data-used': used, 'data-budget': budget },
    h(
      'figcaption',
      {},
      'context ',
      h('b', { class: 'used' }, used.toLocaleString('en')),
      ' of ',
      h('b', { class: 'budget' }, budget.toLocaleString('en')),
      ` tokens (${percent}%)`,
    ),
    bar,
    legend,
  );
}
