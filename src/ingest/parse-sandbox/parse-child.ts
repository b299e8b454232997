import { parseSource } from '../parsers';
import { toWireError, type ParseReply, type ParseRequest } from './parse-messages';

/**
 * Entry of a parse process (forked by ParseProcess): parses one document at a time on request. Its event loop may
 * block for as long as a parse takes; the parent owns the limits and kills this process when one is crossed.
 */
const send = (reply: ParseReply) => process.send?.(reply);

process.on('message', (request: ParseRequest) => {
  void (async () => {
    try {
      // Over IPC a Buffer arrives as a plain Uint8Array; the parsers expect a Buffer (pdf.js would detach an array).
      const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
      const parsed = await parseSource(bytes, request.format, { maxPages: request.maxPdfPages, ocr: request.ocr });
      send({ type: 'parsed', id: request.id, parsed });
    } catch (err) {
      send({ type: 'failed', id: request.id, error: toWireError(err) });
    }
  })();
});

// The parent went away (it closed the pool, or died): nothing will ask again.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready' });
