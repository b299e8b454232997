import type { RedisClient } from '../../infra/redis';

/**
 * Small sources of a bulk upload, held in Redis (written with their records, in one script) until a worker writes them to DATA_DIR/sources (SourceStore does, the
 * first time it is asked for one). A bulk request of 500 abstracts spent 100-270 ms writing 500 small files on our
 * machine; one pipeline to Redis takes a few ms, and the file writes move to the workers, off the request.
 *
 * Only first versions of documents up to INBOX_MAX_BYTES come here, so what Redis holds is bounded by the ingest
 * backlog of small documents (and, per tenant, by TENANT_MAX_BYTES). Keys carry the tenant's hash tag.
 */
export const INBOX_MAX_BYTES = 64 * 1024;

export class SourceInbox {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** In the tenant's hash tag, like its document records, so the records script may write it (DocumentStore.createMany). */
  key(tenant: string, documentId: string, version: number) {
    return `${this.prefix}:{${encodeURIComponent(tenant)}}:srcinbox:${documentId}:v${version}`;
  }

  async get(tenant: string, documentId: string, version: number): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.key(tenant, documentId, version))) ?? undefined;
  }

  async remove(tenant: string, documentId: string, version: number): Promise<void> {
    await this.redis.del(this.key(tenant, documentId, version));
  }
}
