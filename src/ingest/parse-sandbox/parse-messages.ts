import { AppError, isAppError, isErrorCode } from '../../errors';
import type { ParsedDocument, SourceFormat } from '../../core/parsed-document';

/** What the pool sends a parse process: one document to parse. */
export interface ParseRequest {
  id: number;
  bytes: Uint8Array;
  format: SourceFormat;
  maxPdfPages: number;
  ocr: boolean;
}

/** An error as it crosses the process boundary: an AppError keeps its code, details and retryability. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
}

/** What a parse process sends back: once `ready` after it loaded the parsers, then one answer per request. */
export type ParseReply =
  { type: 'ready' } | { type: 'parsed'; id: number; parsed: ParsedDocument } | { type: 'failed'; id: number; error: WireError };

export function toWireError(err: unknown): WireError {
  if (isAppError(err)) return { name: err.name, message: err.message, code: err.code, details: err.details, retryable: err.retryable };
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message };
}

/** The error again on the pool's side: an AppError when it was one, else a plain Error the job may retry. */
export function fromWireError(wire: WireError): Error {
  if (wire.code !== undefined && isErrorCode(wire.code)) {
    return new AppError(wire.code, wire.message, wire.details, { retryable: wire.retryable });
  }
  const err = new Error(wire.message);
  err.name = wire.name;
  return err;
}
