import type { Request } from 'express';
import { AppError, type ErrorCode } from '../errors';

/** Not a place anyone is sent to: the transport reads only the path, which the router has matched already. */
const BASE = 'http://ragmem.invalid';

/**
 * The web-standard request the SDK's transport takes, from an Express request whose body is already parsed (the
 * transport is handed the parsed body and never reads this one). Only the headers the transport reads are passed on:
 * the API key stays behind. Every answer of POST /mcp is JSON, as on the API's other routes, so Accept is not
 * checked: the transport is told the client takes what the MCP spec says a client must take.
 */
export function transportRequest(req: Request, path: string): globalThis.Request {
  const headers = new Headers({ accept: 'application/json, text/event-stream', 'content-type': 'application/json' });
  for (const name of ['mcp-protocol-version', 'mcp-session-id']) {
    const value = req.get(name);
    if (value !== undefined) headers.set(name, value);
  }
  return new globalThis.Request(new URL(path, BASE), { method: 'POST', headers });
}

/** The catalogue code of a transport refusal, by its HTTP status. */
const CODE_BY_STATUS: Record<number, ErrorCode> = { 413: 'payload_too_large', 415: 'unsupported_media_type' };

/**
 * A refusal of the transport (a body that is not a JSON-RPC message, an unsupported protocol version, a batch with an
 * initialize in it...) as the API's own error, so that POST /mcp, like every route, answers errors in the envelope with
 * a catalogue code (the fuzz suite holds every documented route to it). The JSON-RPC error stays in details.
 * Undefined for an answer that is not a refusal.
 */
export async function refusalOf(response: Response): Promise<AppError | undefined> {
  if (response.status < 400) return undefined;
  const text = await response.text();
  let jsonrpc: { code?: unknown; message?: unknown } | undefined;
  try {
    jsonrpc = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
  } catch {
    /* not JSON-RPC: the status alone says it */
  }
  const message =
    typeof jsonrpc?.message === 'string' ? jsonrpc.message : `The MCP transport refused the request (HTTP ${response.status})`;
  const code = CODE_BY_STATUS[response.status] ?? (response.status >= 500 ? 'internal_error' : 'invalid_request');
  return new AppError(code, message, typeof jsonrpc?.code === 'number' ? { jsonrpcCode: jsonrpc.code } : undefined);
}
