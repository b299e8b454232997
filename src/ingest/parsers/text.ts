import type { ParsedDocument } from '../../core/parsed-document';
import { decodeUtf8Strict } from './decode-text';

/** Plain text is stored as sent, with line endings made LF so that offsets and separators mean one thing. */
export function parseText(bytes: Buffer): ParsedDocument {
  return { format: 'text', text: normalizeNewlines(decodeUtf8Strict(bytes)) };
}

export function normalizeNewlines(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}
