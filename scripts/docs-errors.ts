import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOGUE } from '../src/errors';

/**
 * Writes docs/errors.md from the error catalogue (src/errors.ts), so the table cannot drift from the codes the service
 * returns: `npm run docs:errors`. test/unit/error-docs.test.ts fails when the committed file differs from this output.
 */

export const ERRORS_DOC_PATH = join(__dirname, '..', 'docs', 'errors.md');

const cell = (s: string) => s.replaceAll('|', '\\|');

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CATALOGUE).map(
    ([code, s]) => `| \`${code}\` | ${s.status} | ${s.retryable ? 'yes' : 'no'} | ${s.where} | ${cell(s.meaning)} |`,
  );
  return [
    '# Error codes',
    '',
    'Every error answer is `{"error": {"code", "message", "details?"}}`; clients branch on `code`, which is stable. Generated from `src/errors.ts` by `npm run docs:errors`: do not edit by hand.',
    "`where`: `http` an error response, `document` a document's or reindex job's `error.code`, `both` either. `retryable`: whether workers and the gateway try again (for a client: worth retrying, after `Retry-After` when sent).",
    '',
    "An error without a code of ours (a dependency's own error, or a bug) is judged by its kind (`mayPassOnRetry` in `src/errors.ts`): network faults and timeouts are retried; a `TypeError`, `RangeError` or schema failure fails its job at the first attempt (`ingest_failed`, `reindex_failed`); any other kind is retried within the job's attempts. An HTTP request meeting one answers `internal_error` (500).",
    '',
    '| code | status | retryable | where | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (require.main === module) {
  writeFileSync(ERRORS_DOC_PATH, renderErrorsDoc());
  console.log(`wrote ${ERRORS_DOC_PATH} (${Object.keys(ERROR_CATALOGUE).length} codes)`);
}
