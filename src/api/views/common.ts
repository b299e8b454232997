import { z } from 'zod';
import type { MetadataValue } from '../../stores/vector/vector-store';

/**
 * The building blocks of the response views (src/api/views/*.ts). Each view is a zod schema and the function that
 * builds it is typed by that schema's output, so a view that adds or drops a field fails typecheck; the OpenAPI
 * document's response schemas are converted from the same schemas (src/api/openapi/response-components.ts).
 *
 * Views live here, in the API layer, and not in the feature modules whose records they show: the features know
 * nothing of HTTP (test/unit/layering.test.ts), and what a client sees is the API's decision.
 */

/** RFC 3339 (OpenAPI's `date-time`): the service writes UTC (`toISOString`); imported messages may carry an offset. */
export const dateTime = z.iso.datetime({ offset: true });

export const metadataValue = z.union([z.string(), z.number(), z.boolean()]) satisfies z.ZodType<MetadataValue>;

export const metadataView = z.record(z.string(), metadataValue).describe('Flat metadata: string, number and boolean values');

/**
 * Chunk and search-hit metadata: where the chunk sits in its document, then the document's own (flat) metadata. Loose
 * rather than `.catchall(metadataValue)`: TypeScript cannot type an object whose named keys hold arrays beside an index
 * signature of scalars, which is what that would infer.
 */
export const chunkMetadataView = z
  .looseObject({
    pages: z.array(z.int().min(1)).describe('1-based page numbers the chunk spans; empty when the source has no pages'),
    headingPath: z.array(z.string()).describe('Markdown heading path, outermost first; empty when unknown'),
  })
  .describe("The chunk's place (pages, headingPath), then its document's metadata keys and values");

export const codeAndMessage = z.object({ code: z.string(), message: z.string() });

export const count = (description?: string) => (description ? z.int().min(0).describe(description) : z.int().min(0));
