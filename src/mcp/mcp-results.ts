import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { toAppError } from '../api/middleware/error-handler';

/**
 * A tool's answer: the JSON as text (what every MCP client shows the model, and what the spec asks a tool with an
 * output schema to send along) and the same object as `structuredContent`, checked against the tool's output schema.
 */
export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

/**
 * A failure of the use case as a tool error (`isError: true`), not a protocol error: the model reads it and may try
 * otherwise. The text is the HTTP API's error envelope, `{"error": {"code", "message", "details"?}}`, with the same
 * catalogue code (a retryable one also says after how many seconds). Our own faults are logged as the HTTP handler
 * logs them, and their cause stays in the log.
 */
export function errorResult(err: unknown, logger: Logger, tool: string): CallToolResult {
  const appErr = toAppError(err);
  if (appErr.status >= 500) logger.error({ err: appErr.cause ?? err, code: appErr.code, tool }, appErr.message);
  const retryAfter = appErr.headers?.['Retry-After'];
  const error = {
    code: appErr.code,
    message: appErr.message,
    ...(appErr.details ? { details: appErr.details } : {}),
    ...(retryAfter ? { retryAfterSeconds: Number(retryAfter) } : {}),
  };
  return { content: [{ type: 'text', text: JSON.stringify({ error }) }], isError: true };
}

/** Runs a tool's work, answering its result as JSON or its failure as a tool error. */
export async function runTool(logger: Logger, tool: string, work: () => Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    return jsonResult(await work());
  } catch (err) {
    return errorResult(err, logger, tool);
  }
}
