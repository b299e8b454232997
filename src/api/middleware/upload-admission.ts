import type { RequestHandler } from 'express';
import { AppError } from '../../errors';

/**
 * Admission bound on request bodies held in memory by this process. Uploads are buffered whole (multer memoryStorage,
 * express.json), so without it N concurrent 50 MB uploads hold N x 50 MB: a handful of clients could exhaust the heap
 * of a process that also serves every other tenant.
 *
 * A body is counted by its Content-Length before a byte of it is read. A chunked body (no Content-Length) cannot be
 * measured up front, so it reserves the most its route can take (the upload or JSON limit); counting its bytes as they
 * arrive would mean listening to the request stream ahead of the parser, which loses data if the parser attaches a tick
 * later. The reservation is released when the response ends or the connection closes, whichever comes first.
 *
 * Past the bound the request answers 503 `uploads_busy` with Retry-After before its body is read. A single body larger
 * than the whole bound is still admitted when nothing else is in flight, so it meets its own size limit (413) instead.
 */
export interface UploadAdmissionOptions {
  maxInflightBytes: number;
  /** What a chunked multipart body reserves: the per-file limit plus room for the fields. */
  maxUploadBytes: number;
  /** What a chunked body of any other type reserves. */
  maxJsonBytes: number;
  /** Seconds a refused client is asked to wait. */
  retryAfterSeconds?: number;
}

/** Multipart fields and framing besides the file itself (16 fields of at most 64 KiB: see routes/documents.ts). */
const MULTIPART_OVERHEAD = 16 * 64 * 1024 + 64 * 1024;

export interface UploadAdmission {
  middleware: RequestHandler;
  /** Bytes reserved right now (for tests and metrics). */
  inflightBytes(): number;
}

export function uploadAdmission(options: UploadAdmissionOptions): UploadAdmission {
  let inflight = 0;
  const retryAfter = String(options.retryAfterSeconds ?? 2);
  const ceiling = (req: Parameters<RequestHandler>[0]) =>
    req.is('multipart/form-data') ? options.maxUploadBytes + MULTIPART_OVERHEAD : options.maxJsonBytes;

  const middleware: RequestHandler = (req, res, next) => {
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (length === undefined && !chunked) return next();
    const declared = length === undefined ? Number.NaN : Number(length);
    // A body is never read past its route's limit (the parsers stop there), so that is the most it can hold.
    const bytes = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, ceiling(req)) : ceiling(req);
    if (bytes === 0) return next();
    // The client may be gone already (this runs after awaits: authentication, the rate limit): 'close' has fired and
    // would never fire again, so a reservation made now would never be released.
    if (res.closed || req.destroyed) return next();
    if (inflight > 0 && inflight + bytes > options.maxInflightBytes) {
      return next(
        new AppError(
          'uploads_busy',
          'The server is holding as many uploads as it can right now; retry shortly',
          {
            inflightLimitBytes: options.maxInflightBytes,
          },
          { headers: { 'Retry-After': retryAfter } },
        ),
      );
    }
    inflight += bytes;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inflight -= bytes;
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
  return { middleware, inflightBytes: () => inflight };
}
