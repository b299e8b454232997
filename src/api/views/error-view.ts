import { z } from 'zod';
import type { AppError } from '../../errors';

/** What an error answers with (api.md's envelope); its `code`s, statuses and meanings are listed in docs/errors.md. */
export const ErrorDetailSchema = z.object({
  code: z.string().describe('Stable snake_case code clients branch on (docs/errors.md)'),
  message: z.string().describe('A human sentence'),
  details: z.record(z.string(), z.unknown()).optional().describe('Structured detail, e.g. the failing fields of invalid_request'),
});

export const ErrorBodySchema = z.object({ error: ErrorDetailSchema });
export type ErrorBody = z.output<typeof ErrorBodySchema>;

/** The body of an error answer (the error middleware's, and the raw one written for requests Node's parser refuses). */
export function toErrorBody(err: Pick<AppError, 'code' | 'message' | 'details'>): ErrorBody {
  return { error: { code: err.code, message: err.message, details: err.details } };
}
