import type { RedisClient } from '../../infra/redis';
import { AppError } from '../../errors';
import { pageByLex } from '../../infra/lex-pages';
import { CREATE_MANY_WITHIN_QUOTA, CREATE_WITHIN_QUOTA, REMOVE_COUNTED, UPDATE_COUNTED } from './document-scripts';
import type { DocumentRecord, DocumentStatus } from './document-types';

/** Per-tenant quotas the store enforces as it writes; 0 means none. */
export interface DocumentQuotas {
  documents: number;
  bytes: number;
}

/** A new record for createMany, with the source to store beside it (when it waits in Redis). */
export interface NewRecord {
  doc: DocumentRecord;
  source?: { key: string; bytes: Buffer };
}

/** What createMany did with one record. */
export type CreateOutcome = { kind: 'created' } | { kind: 'duplicate'; holder: DocumentRecord };

/** What a tenant holds now, as the quotas count it. */
export interface DocumentUsage {
  documents: number;
  bytes: number;
}

/**
 * Document records in Redis. One JSON value per document, plus:
 * - a per-(tenant, collection) sorted set of ids for listing (ids sort by creation time, so lexicographic order is age),
 * - a content-hash key (claimed by a script) and an externalId key (claimed with SET NX) per (tenant, collection),
 *   so two concurrent uploads of the same content, or with the same externalId, create one document.
 * - a per-tenant byte total, kept with every write by the scripts in document-scripts.ts (the quotas).
 * Every read takes the tenant and answers "not found" for another tenant's id.
 */
export class DocumentStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly quotas: DocumentQuotas = { documents: 0, bytes: 0 },
  ) {}

  // Every key of a tenant carries the tenant as a hash tag, so MULTI and scripts work on Redis Cluster.
  private docKey(tenant: string, id: string) {
    return `${this.prefix}:{${enc(tenant)}}:doc:${id}`;
  }
  private listKey(tenant: string, collection: string) {
    return `${this.prefix}:{${enc(tenant)}}:docs:${enc(collection)}`;
  }
  private tenantListKey(tenant: string) {
    return `${this.prefix}:{${enc(tenant)}}:docs`;
  }
  private hashKey(tenant: string, collection: string, hash: string) {
    return `${this.prefix}:{${enc(tenant)}}:dochash:${enc(collection)}:${hash}`;
  }
  private bytesKey(tenant: string) {
    return `${this.prefix}:{${enc(tenant)}}:usage:bytes`;
  }
  private externalKey(tenant: string, collection: string, externalId: string) {
    return `${this.prefix}:{${enc(tenant)}}:docext:${enc(collection)}:${enc(externalId)}`;
  }

  async get(tenant: string, id: string): Promise<DocumentRecord | undefined> {
    const raw = await this.redis.get(this.docKey(tenant, id));
    if (!raw) return undefined;
    const doc = JSON.parse(raw) as DocumentRecord;
    return doc.tenant === tenant ? doc : undefined;
  }

  /** Records for many ids at once (search uses it to drop chunks of deleted or superseded documents). */
  async getMany(tenant: string, ids: string[]): Promise<Map<string, DocumentRecord>> {
    const out = new Map<string, DocumentRecord>();
    if (ids.length === 0) return out;
    const raws = await this.redis.mget(ids.map((id) => this.docKey(tenant, id)));
    raws.forEach((raw) => {
      if (!raw) return;
      const doc = JSON.parse(raw) as DocumentRecord;
      if (doc.tenant === tenant) out.set(doc.id, doc);
    });
    return out;
  }

  /**
   * Claims the content hash for a document id, in one script: set when absent; taken over when the holder's record
   * is gone (deleted without releasing it); otherwise left alone. Answers the id that holds it when the claim fails,
   * so the caller can answer `duplicate`. (The externalId has its own claim: `claimExternalId`.)
   */
  async claimHash(tenant: string, collection: string, hash: string, id: string): Promise<string | undefined> {
    // KEYS[2] is the doc-key prefix: the holder's record key is built from it in the script (same tenant hash tag,
    // so the same slot on Redis Cluster).
    const holder = await this.redis.eval(CLAIM_HASH, 2, this.hashKey(tenant, collection, hash), this.docKey(tenant, ''), id);
    return typeof holder === 'string' ? holder : undefined;
  }

  /** The document that holds this content in the collection, if its record still exists. */
  async holderOfHash(tenant: string, collection: string, hash: string): Promise<DocumentRecord | undefined> {
    const id = await this.redis.get(this.hashKey(tenant, collection, hash));
    return id ? this.get(tenant, id) : undefined;
  }

  async releaseHash(tenant: string, collection: string, hash: string, id: string): Promise<void> {
    await compareAndDelete(this.redis, this.hashKey(tenant, collection, hash), id);
  }

  async findByExternalId(tenant: string, collection: string, externalId: string): Promise<DocumentRecord | undefined> {
    const id = await this.redis.get(this.externalKey(tenant, collection, externalId));
    return id ? this.get(tenant, id) : undefined;
  }

  async claimExternalId(tenant: string, collection: string, externalId: string, id: string): Promise<string | undefined> {
    const key = this.externalKey(tenant, collection, externalId);
    const ok = await this.redis.set(key, id, 'NX');
    if (ok === 'OK') return undefined;
    return (await this.redis.get(key)) ?? undefined;
  }

  /** Records a new document, or throws 403 `quota_exceeded` when the tenant's documents or bytes would pass a quota. */
  async create(doc: DocumentRecord): Promise<void> {
    const t = doc.tenant;
    const answer = (await this.redis.eval(
      CREATE_WITHIN_QUOTA,
      5,
      this.docKey(t, doc.id),
      this.listKey(t, doc.collection),
      this.tenantListKey(t),
      this.bytesKey(t),
      this.docKey(t, ''),
      doc.id,
      JSON.stringify(doc),
      doc.bytes,
      this.quotas.documents,
      this.quotas.bytes,
    )) as [number, string?, number?, number?];
    if (answer[0] !== 1) throw quotaExceeded(answer, doc.bytes);
  }

  /**
   * Records many new documents of one tenant and collection in one script, in order, each claiming its content hash
   * and writing its `source` when it has one (a key in the tenant's hash tag: SourceStore.inboxKey). Answers per record:
   * created, or a duplicate of the live document that already holds its content (nothing written for it); records
   * after a quota refusal are not reached (undefined) and `refused` holds the 403 to answer.
   */
  async createMany(records: NewRecord[]): Promise<{ outcomes: Array<CreateOutcome | undefined>; refused?: AppError }> {
    if (records.length === 0) return { outcomes: [] };
    const { tenant: t, collection } = records[0].doc;
    if (records.some(({ doc }) => doc.tenant !== t || doc.collection !== collection))
      throw new Error('createMany: one tenant and collection per call');
    const args = records.flatMap(({ doc, source }) => [
      doc.id,
      doc.contentHash,
      JSON.stringify(doc),
      String(doc.bytes),
      source?.key ?? '',
      source?.bytes ?? '',
    ]);
    const answer = (await this.redis.eval(
      CREATE_MANY_WITHIN_QUOTA,
      5,
      this.listKey(t, collection),
      this.tenantListKey(t),
      this.bytesKey(t),
      this.docKey(t, ''),
      this.hashKey(t, collection, ''),
      this.quotas.documents,
      this.quotas.bytes,
      ...args,
    )) as Array<['created'] | ['duplicate', string] | ['refused', string, number, number]>;
    const outcomes = records.map((_, i): CreateOutcome | undefined => {
      const a = answer[i];
      if (a?.[0] === 'created') return { kind: 'created' };
      if (a?.[0] === 'duplicate') return { kind: 'duplicate', holder: JSON.parse(a[1]) as DocumentRecord };
      return undefined;
    });
    const last = answer.at(-1);
    if (last?.[0] !== 'refused') return { outcomes };
    return { outcomes, refused: quotaExceeded([0, last[1], last[2], last[3]], records[answer.length - 1].doc.bytes) };
  }

  /** The live documents holding these contents in the collection (one round trip for the hashes, one for the records). */
  async holdersOfHashes(tenant: string, collection: string, hashes: string[]): Promise<Map<string, DocumentRecord>> {
    const out = new Map<string, DocumentRecord>();
    if (hashes.length === 0) return out;
    const ids = await this.redis.mget(hashes.map((h) => this.hashKey(tenant, collection, h)));
    const docs = await this.getMany(
      tenant,
      ids.filter((id): id is string => id !== null),
    );
    hashes.forEach((hash, i) => {
      const doc = ids[i] === null ? undefined : docs.get(ids[i]!);
      if (doc) out.set(hash, doc);
    });
    return out;
  }

  /** The tenant's document count and byte total, as the quotas see them. */
  async usage(tenant: string): Promise<DocumentUsage & { quotas: DocumentQuotas }> {
    const [documents, bytes] = await Promise.all([this.redis.zcard(this.tenantListKey(tenant)), this.redis.get(this.bytesKey(tenant))]);
    return { documents, bytes: bytes === null ? await this.sumBytes(tenant) : Number(bytes), quotas: this.quotas };
  }

  /** The byte total from the records themselves (before any script has kept the counter). */
  private async sumBytes(tenant: string): Promise<number> {
    let total = 0;
    for (let cursor: string | undefined; ;) {
      const page = await this.list(tenant, { limit: 500, cursor });
      total += page.documents.reduce((n, d) => n + d.bytes, 0);
      if (!page.nextCursor) return total;
      cursor = page.nextCursor;
    }
  }

  /**
   * Read-modify-write as compare-and-set (a Lua script swaps the value only if it is still what was read), so a
   * worker's progress update never resurrects a document the API just deleted and never overwrites a newer
   * version's state. WATCH would not do: the connection is shared by concurrent requests.
   * Answers the updated record, or undefined when the document is gone (or `expectVersion` no longer matches).
   */
  async update(
    tenant: string,
    id: string,
    change: (doc: DocumentRecord) => Partial<DocumentRecord>,
    opts: { expectVersion?: number } = {},
  ): Promise<DocumentRecord | undefined> {
    const key = this.docKey(tenant, id);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const raw = await this.redis.get(key);
      if (raw === null) return undefined;
      const doc = JSON.parse(raw) as DocumentRecord;
      if (doc.tenant !== tenant) return undefined;
      if (opts.expectVersion !== undefined && doc.version !== opts.expectVersion) return undefined;
      const next: DocumentRecord = { ...doc, ...change(doc), updatedAt: new Date().toISOString() };
      // A new version may change the size the byte quota counts: counted (and checked) in the same script.
      const answer = (await this.redis.eval(
        UPDATE_COUNTED,
        4,
        key,
        this.bytesKey(tenant),
        this.tenantListKey(tenant),
        this.docKey(tenant, ''),
        raw,
        JSON.stringify(next),
        next.bytes - doc.bytes,
        this.quotas.bytes,
      )) as [number, string?, number?, number?];
      if (answer[0] === 1) return next;
      if (answer[0] === -1) throw quotaExceeded(answer, next.bytes - doc.bytes);
    }
    throw new Error(`${key}: too much contention updating it`);
  }

  /**
   * Removes the record and every index entry pointing at it, in one MULTI. Answers the removed record.
   * A caller that already holds the record passes it, saving the read.
   */
  async remove(tenant: string, id: string, known?: DocumentRecord): Promise<DocumentRecord | undefined> {
    const doc = known ?? (await this.get(tenant, id));
    if (!doc) return undefined;
    const tx = this.redis
      .multi()
      .eval(
        REMOVE_COUNTED,
        5,
        this.docKey(tenant, id),
        this.listKey(tenant, doc.collection),
        this.tenantListKey(tenant),
        this.bytesKey(tenant),
        this.docKey(tenant, ''),
        id,
      )
      .eval(COMPARE_AND_DELETE, 1, this.hashKey(tenant, doc.collection, doc.contentHash), id);
    if (doc.externalId !== undefined) {
      tx.eval(COMPARE_AND_DELETE, 1, this.externalKey(tenant, doc.collection, doc.externalId), id);
    }
    await tx.exec();
    return doc;
  }

  /** Which of `ids` the collection holds now (a document's record and its membership are created and removed together). */
  async inCollection(tenant: string, collection: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const scores = await this.redis.zmscore(this.listKey(tenant, collection), ...ids);
    return new Set(ids.filter((_, i) => scores[i] !== null));
  }

  /** How many documents the collection holds, whatever their status. */
  async countInCollection(tenant: string, collection: string): Promise<number> {
    return this.redis.zcard(this.listKey(tenant, collection));
  }

  /** Newest first; the cursor is the last id of the previous page. */
  async list(
    tenant: string,
    opts: { collection?: string; status?: DocumentStatus; limit: number; cursor?: string },
  ): Promise<{ documents: DocumentRecord[]; nextCursor: string | null }> {
    const key = opts.collection ? this.listKey(tenant, opts.collection) : this.tenantListKey(tenant);
    const { items, nextCursor } = await pageByLex<DocumentRecord>(
      this.redis,
      key,
      { limit: opts.limit, cursor: opts.cursor, maxRounds: 50 },
      async (ids) => {
        const docs = await this.getMany(tenant, ids);
        return ids.map((id) => docs.get(id));
      },
      (doc) => !opts.status || doc.status === opts.status,
    );
    return { documents: items, nextCursor };
  }
}

const enc = (s: string) => encodeURIComponent(s);

/** Beyond this many lost compare-and-sets in a row something is wrong (a runaway writer), not just busy. */
const MAX_UPDATE_ATTEMPTS = 50;

const COMPARE_AND_DELETE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

// KEYS[1] the hash key, KEYS[2] the doc-key prefix, ARGV[1] the claiming id. Answers the holder, or nil when claimed.
const CLAIM_HASH = `local holder = redis.call('get', KEYS[1])
if holder and redis.call('exists', KEYS[2] .. holder) == 1 then return holder end
redis.call('set', KEYS[1], ARGV[1])
return false`;

/** The 403 for a script's refusal {_, quota, limit, used}. */
function quotaExceeded(answer: [number, string?, number?, number?], requested: number): AppError {
  const [, quota, limit, used] = answer;
  const message =
    quota === 'documents'
      ? `this tenant already holds ${used} documents, its quota (TENANT_MAX_DOCUMENTS=${limit}); delete some first`
      : `this document's ${requested} bytes would take the tenant past its quota of ${limit} bytes (TENANT_MAX_BYTES; ${used} used); delete some first`;
  return new AppError('quota_exceeded', message, { quota, limit, used, requested: quota === 'documents' ? 1 : requested });
}

async function compareAndDelete(redis: RedisClient, key: string, expected: string): Promise<void> {
  await redis.eval(COMPARE_AND_DELETE, 1, key, expected);
}
