import { AppError } from '../../errors';

/**
 * The bytes as UTF-8 text, refusing anything else: a wrongly guessed encoding would index mojibake silently, so the
 * client is told instead. A leading BOM is dropped.
 */
export function decodeUtf8Strict(buf: Buffer): string {
  try {
    // A new decoder per call: a fatal decoder that threw must not be reused mid-stream.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  } catch (err) {
    throw new AppError(
      'invalid_encoding',
      'The file is not valid UTF-8 text',
      { encoding: 'utf-8', offset: firstInvalidUtf8Offset(buf) },
      { cause: err },
    );
  }
}

/** Byte offset of the first byte that does not start a well-formed UTF-8 sequence, to point the client at it. */
function firstInvalidUtf8Offset(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    let len: number;
    let min = 0x80; // lowest allowed second byte
    let max = 0xbf; // highest allowed second byte
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) min = 0xa0; // overlong
      if (b === 0xed) max = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) min = 0x90; // overlong
      if (b === 0xf4) max = 0x8f; // above U+10FFFF
    } else return i;
    if (i + len > buf.length) return i;
    for (let k = 1; k < len; k++) {
      const c = buf[i + k];
      if (k === 1 ? c < min || c > max : c < 0x80 || c > 0xbf) return i;
    }
    i += len;
  }
  return -1;
}
