import { AppError } from '../../errors';
import type { ParsedDocument } from '../../core/parsed-document';
import { ocrAvailable, ocrImage, ocrUnavailable } from './ocr';

/** A photo or scan of a page (PNG, JPEG, TIFF), read by OCR: one page. */
export async function parseImage(bytes: Buffer, options: { ocr?: boolean } = {}): Promise<ParsedDocument> {
  if (!options.ocr || !(await ocrAvailable())) throw ocrUnavailable('An image');
  const page = await ocrImage(bytes);
  const text = page.text.trim();
  if (text === '') throw new AppError('image_no_text', 'No text was found in the image', undefined, { retryable: false });
  return {
    format: 'image',
    text,
    pages: [{ num: 1, start: 0, end: text.length }],
    ocr: { pages: [1], meanConfidence: Math.round(page.confidence * 10) / 10 },
  };
}
