import { createHash, randomUUID } from 'node:crypto';
import type { RedisClient } from '../../infra/redis';
import { CREATE, APPEND, RANGE, SET_SUMMARY, MARK_RECALL, DELETE, TRY_LOCK, UNLOCK } from './session-scripts';
import type { CreateSessionInput, NewMessage, SessionRecord, SessionSummary, StoredMessage } from './session-types';

export interface SessionStoreOptions {
  /** Idle sessions expire after this many seconds without a write (0: never). */
  ttlSeconds?: number;
  /** Messages written per Lua call when appending many (an import of 10,000 goes in pages). */
  appendPageSize?: number;
}

export const DEFAULT_APPEND_PAGE_SIZE = 500;

/** Seqs read per HMGET: a range over 10,000 messages goes in a few calls instead of one huge reply. */
const READ_CHUNK = 1000;

/**
 * Sessions in Redis. Every key of one session carries the same hash tag `{s:<tenant>:<id>}` (both URI-encoded), so
 * each Lua script below touches one slot and works on Redis Cluster:
 * - `<prefix>:{s:<tenant>:<id>}:meta`: a hash, the record. `record` holds the fields that never change after
 *   creation (JSON); `generation`, `updatedAt`, `lastSeq`, `summary` (JSON, '' for none), `summaryThrough` and
 *   `recallThrough` are separate fields so the scripts compare and bump them without decoding JSON in Lua (cjson
 *   would round numbers in metadata to 14 digits). get() is one HGETALL.
 * - `<prefix>:{s:<tenant>:<id>}:msgs`: a hash, seq -> StoredMessage JSON. Append-only: nothing is ever rewritten.
 * - `<prefix>:{s:<tenant>:<id>}:locks`: a hash, lock name -> `<expiresAtMs>:<token>` (see tryLock).
 * The tenant is part of every key, and reads also check the record's tenant: no call reaches another tenant's session.
 *
 * With `ttlSeconds`, every write (create, append, setSummary, markRecallIndexed) refreshes the expiry of meta and
 * msgs together, so an idle session expires as a whole.
 */
export class SessionStore {
  private readonly ttlSeconds: number;
  private readonly pageSize: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly opts: SessionStoreOptions = {},
  ) {
    this.ttlSeconds = opts.ttlSeconds ?? 0;
    this.pageSize = opts.appendPageSize ?? DEFAULT_APPEND_PAGE_SIZE;
    if (!Number.isInteger(this.ttlSeconds) || this.ttlSeconds < 0) throw new Error('SessionStore: ttlSeconds must be an integer >= 0');
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) throw new Error('SessionStore: appendPageSize must be an integer >= 1');
  }

  /**
   * The expiry index: sessions by when they may expire, in EXPIRY_SHARDS sorted sets (one hot key would pin every
   * tenant to one Redis Cluster slot). Redis forgets an idle session by itself; the index lets the sweep
   * (sweepExpiredSessions) find it afterwards and delete its recall vectors, which live in the vector store. A session
   * is noted once, when created (no extra write per append); the sweep moves a live one on to its current expiry.
   */
  private expiryKey(shard: number) {
    return `${this.prefix}:{session-expiry:${shard}}`;
  }

  private async noteExpiry(session: SessionRecord): Promise<void> {
    if (this.ttlSeconds === 0) return;
    const entry = expiryMember(session.tenant, session.id, session.generation);
    await this.redis.zadd(this.expiryKey(shardOf(entry)), Date.now() + this.ttlSeconds * 1000, entry);
  }

  /** Sessions whose idle expiry is due by `nowMs` (they may have been refreshed since: check before acting). */
  async dueExpiries(nowMs: number, limit: number): Promise<ExpiryEntry[]> {
    const out: ExpiryEntry[] = [];
    for (let shard = 0; shard < EXPIRY_SHARDS && out.length < limit; shard++) {
      const members = await this.redis.zrangebyscore(this.expiryKey(shard), '-inf', nowMs, 'LIMIT', 0, limit - out.length);
      for (const m of members) {
        const [tenant, id, generation] = JSON.parse(m) as [string, string, string];
        out.push({ tenant, id, generation });
      }
    }
    return out;
  }

  /** How long until the session expires unless written again (undefined: gone, or no TTL). */
  async expiresInMs(tenant: string, id: string): Promise<number | undefined> {
    const left = await this.redis.pttl(this.keys(tenant, id).meta);
    return left >= 0 ? left : undefined;
  }

  /** Removes an entry from the expiry index, or moves it to `atMs` when the session is still alive. */
  async settleExpiry(entry: ExpiryEntry, atMs?: number): Promise<void> {
    const member = expiryMember(entry.tenant, entry.id, entry.generation);
    const key = this.expiryKey(shardOf(member));
    if (atMs === undefined) await this.redis.zrem(key, member);
    else await this.redis.zadd(key, atMs, member);
  }

  private keys(tenant: string, id: string) {
    const base = `${this.prefix}:{s:${enc(tenant)}:${enc(id)}}`;
    return { meta: `${base}:meta`, msgs: `${base}:msgs`, locks: `${base}:locks` };
  }

  /** Creates a session; answers `created: false` with the existing one when the id is taken (nothing changes then). */
  async create(
    tenant: string,
    input: CreateSessionInput,
    defaults: { collection: string },
  ): Promise<{ session: SessionRecord; created: boolean }> {
    const id = input.id ?? randomUUID();
    const now = new Date().toISOString();
    const fixed: FixedFields = {
      id,
      tenant,
      systemPrompt: input.systemPrompt,
      collection: input.collection ?? defaults.collection,
      metadata: input.metadata ?? {},
      maxContextTokens: input.maxContextTokens,
      createdAt: now,
    };
    const k = this.keys(tenant, id);
    const reply = (await this.redis.eval(
      CREATE,
      2,
      k.meta,
      k.msgs,
      JSON.stringify(fixed),
      randomUUID(),
      now,
      this.ttlSeconds,
    )) as unknown[];
    const session = toRecord(pairs(reply.slice(1)), tenant, id);
    // Only reachable when the existing value is corrupt or belongs elsewhere: never answer it as this tenant's session.
    if (!session) throw new Error(`session ${id}: stored record is unreadable`);
    if (reply[0] === 1) await this.noteExpiry(session);
    return { session, created: reply[0] === 1 };
  }

  async get(tenant: string, id: string): Promise<SessionRecord | undefined> {
    const h = await this.redis.hgetall(this.keys(tenant, id).meta);
    return toRecord(h, tenant, id);
  }

  /**
   * Appends messages atomically after the newest one, creating the session (with `defaults`) when it does not exist.
   * Seqs are contiguous; two concurrent appends both land, each as one unbroken run. Answers the stored messages.
   * `expectGeneration`, when given, refuses (returns undefined) if the session was deleted/recreated meanwhile.
   *
   * More than `appendPageSize` messages go in several scripts, one per page: each page is atomic and contiguous, the
   * whole import is not (a concurrent append may land between two pages, and a failure midway leaves the earlier
   * pages stored). Pages after the first expect the first page's generation, so a delete during an import stops it
   * (answers undefined) instead of starting a new session with the import's tail.
   */
  async append(
    tenant: string,
    id: string,
    messages: NewMessage[],
    defaults: { collection: string },
    opts?: { expectGeneration?: string },
  ): Promise<{ session: SessionRecord; messages: StoredMessage[] } | undefined> {
    const k = this.keys(tenant, id);
    // `"<id>:` as a JSON string without its closing quote: the script appends the seq and the quote.
    const idPrefix = JSON.stringify(`${id}:`).slice(0, -1);
    let expect = opts?.expectGeneration;
    let session: SessionRecord | undefined;
    const stored: StoredMessage[] = [];
    let offset = 0;
    let created = false;
    do {
      // Used only when this page creates the session: the answer's generation then equals it.
      const freshGeneration = randomUUID();
      const page = messages.slice(offset, offset + this.pageSize);
      offset += this.pageSize;
      const now = new Date().toISOString();
      const bodies = page.map((m) => messageBody(m, now));
      const fixed: FixedFields = { id, tenant, collection: defaults.collection, metadata: {}, createdAt: now };
      const reply = (await this.redis.eval(
        APPEND,
        2,
        k.meta,
        k.msgs,
        now,
        this.ttlSeconds,
        expect ?? '',
        JSON.stringify(fixed),
        freshGeneration,
        idPrefix,
        ...bodies.map((b) => JSON.stringify(b)),
      )) as unknown[];
      if (reply[0] !== 1) return undefined;
      const firstSeq = Number(reply[1]);
      session = toRecord(pairs(reply.slice(2)), tenant, id);
      if (!session) throw new Error(`session ${id}: stored record is unreadable`);
      created ||= session.generation === freshGeneration;
      expect = session.generation;
      bodies.forEach((b, i) => stored.push({ id: `${id}:${firstSeq + i}`, seq: firstSeq + i, ...b }));
    } while (offset < messages.length);
    if (created) await this.noteExpiry(session!);
    return { session: session!, messages: stored };
  }

  /** Messages with fromSeq <= seq <= toSeq, ascending. */
  async range(tenant: string, id: string, fromSeq: number, toSeq: number): Promise<StoredMessage[]> {
    if (Number.isNaN(fromSeq) || Number.isNaN(toSeq)) return [];
    const k = this.keys(tenant, id);
    let from = Math.max(1, Math.ceil(fromSeq));
    // Clamped to the newest seq inside the script (no separate read of the record); Infinity is not a Lua number.
    let to = Math.min(Math.floor(toSeq), Number.MAX_SAFE_INTEGER);
    const out: StoredMessage[] = [];
    while (from <= to) {
      const reply = (await this.redis.eval(RANGE, 2, k.meta, k.msgs, from, to, READ_CHUNK)) as (string | number | null)[];
      to = Math.min(to, Number(reply[0]));
      reply.slice(1).forEach((raw, i) => {
        const m = parseMessage(raw as string | null, from + i);
        if (m) out.push(m);
      });
      from += READ_CHUNK;
    }
    return out;
  }

  /** The given seqs (missing ones skipped), ascending. */
  async getMessages(tenant: string, id: string, seqs: number[]): Promise<StoredMessage[]> {
    const wanted = [...new Set(seqs)].filter((s) => Number.isSafeInteger(s) && s >= 1).sort((a, b) => a - b);
    if (wanted.length === 0) return [];
    const { msgs } = this.keys(tenant, id);
    const chunks: number[][] = [];
    for (let i = 0; i < wanted.length; i += READ_CHUNK) chunks.push(wanted.slice(i, i + READ_CHUNK));
    // Sent together: ioredis writes them back to back, so this is one round trip.
    const replies = await Promise.all(chunks.map((c) => this.redis.hmget(msgs, ...c.map(String))));
    const out: StoredMessage[] = [];
    replies.forEach((raws, ci) =>
      raws.forEach((raw, i) => {
        const m = parseMessage(raw, chunks[ci][i]);
        if (m) out.push(m);
      }),
    );
    return out;
  }

  /**
   * Replaces the summary only if the stored one still covers `expectCoversThroughSeq` (0 for none) and the session
   * is still `generation`: a late or duplicate summariser cannot move the summary backwards. Answers whether it wrote.
   * Also refused: a summary covering fewer messages than the stored one, or messages that do not exist yet.
   * The record's updatedAt is left alone (it tracks conversation activity, not background work).
   */
  async setSummary(
    tenant: string,
    id: string,
    generation: string,
    summary: SessionSummary,
    expectCoversThroughSeq: number,
  ): Promise<boolean> {
    const k = this.keys(tenant, id);
    const value: SessionSummary = {
      text: summary.text,
      coversThroughSeq: summary.coversThroughSeq,
      tokenCount: summary.tokenCount,
      updatedAt: summary.updatedAt,
    };
    const wrote = await this.redis.eval(
      SET_SUMMARY,
      2,
      k.meta,
      k.msgs,
      generation,
      expectCoversThroughSeq,
      summary.coversThroughSeq,
      JSON.stringify(value),
      this.ttlSeconds,
    );
    return wrote === 1;
  }

  /**
   * Raises recallIndexedThroughSeq to `seq` (never lowers it) if the session is still `generation`.
   * A seq past the newest message is capped at lastSeq (nothing beyond it can have been indexed).
   */
  async markRecallIndexed(tenant: string, id: string, generation: string, seq: number): Promise<void> {
    if (!Number.isFinite(seq)) return;
    const k = this.keys(tenant, id);
    await this.redis.eval(MARK_RECALL, 2, k.meta, k.msgs, generation, Math.floor(seq), this.ttlSeconds);
  }

  /** Removes the session and all its messages; answers the deleted record (undefined when there was none). */
  async delete(tenant: string, id: string): Promise<SessionRecord | undefined> {
    const k = this.keys(tenant, id);
    // One script: the record read and the removal of meta, msgs and locks cannot interleave with an append.
    const reply = (await this.redis.eval(DELETE, 3, k.meta, k.msgs, k.locks)) as unknown[];
    const deleted = toRecord(pairs(reply), tenant, id);
    if (deleted && this.ttlSeconds > 0) await this.settleExpiry(deleted);
    return deleted;
  }

  /**
   * A short-lived per-session lock for background jobs (summarise, recall index), so one job works a session at a
   * time. Answers a token when acquired, undefined when another holder has it.
   *
   * Locks live as fields of the session's `locks` hash (`<expiresAtMs>:<token>`, expiry checked against the Redis
   * server clock) rather than one SET NX PX key each: delete() can then remove them in the same script as the rest
   * without knowing their names. The hash itself expires with its longest-lived lock.
   * Deleting the session releases its locks; a job still running on the old generation is stopped by the
   * generation checks of setSummary/markRecallIndexed, not by the lock.
   */
  async tryLock(tenant: string, id: string, name: string, ttlMs: number): Promise<string | undefined> {
    if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new Error('SessionStore.tryLock: ttlMs must be >= 1');
    const token = randomUUID();
    const got = await this.redis.eval(TRY_LOCK, 1, this.keys(tenant, id).locks, name, token, Math.ceil(ttlMs));
    return got === 1 ? token : undefined;
  }

  async unlock(tenant: string, id: string, name: string, token: string): Promise<void> {
    await this.redis.eval(UNLOCK, 1, this.keys(tenant, id).locks, name, token);
  }
}

/** The record's fields that never change after creation: stored as one JSON value in the `record` field. */
type FixedFields = Pick<SessionRecord, 'id' | 'tenant' | 'systemPrompt' | 'collection' | 'metadata' | 'maxContextTokens' | 'createdAt'>;

type MessageBody = Omit<StoredMessage, 'id' | 'seq'>;

const enc = (s: string) => encodeURIComponent(s);

export interface ExpiryEntry {
  tenant: string;
  id: string;
  generation: string;
}

const EXPIRY_SHARDS = 16;
const expiryMember = (tenant: string, id: string, generation: string) => JSON.stringify([tenant, id, generation]);
const shardOf = (member: string) => createHash('sha1').update(member).digest().readUInt16BE(0) % EXPIRY_SHARDS;

/**
 * Only the known fields, in a fixed order: a caller passing a StoredMessage (an import) must not smuggle its own
 * id/seq into the JSON, where they would shadow the ones the script assigns.
 */
function messageBody(m: NewMessage, now: string): MessageBody {
  const body: MessageBody = { role: m.role, content: m.content, createdAt: m.createdAt ?? now, tokenCount: m.tokenCount };
  if (m.citations !== undefined) body.citations = m.citations;
  if (m.model !== undefined) body.model = m.model;
  if (m.usage !== undefined) body.usage = m.usage;
  return body;
}

/** A flat [field, value, field, value, ...] script reply as an object (what HGETALL answers). */
function pairs(flat: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** undefined for a missing, corrupt or foreign record: a bad value must not break reads of the session. */
function toRecord(h: Record<string, string>, tenant: string, id: string): SessionRecord | undefined {
  if (!h.record || !h.generation) return undefined;
  let fixed: FixedFields;
  let summary: SessionSummary | null = null;
  try {
    fixed = JSON.parse(h.record) as FixedFields;
    if (h.summary) summary = JSON.parse(h.summary) as SessionSummary;
  } catch {
    return undefined;
  }
  if (!fixed || fixed.tenant !== tenant || fixed.id !== id) return undefined;
  const record: SessionRecord = {
    id: fixed.id,
    tenant: fixed.tenant,
    generation: h.generation,
    collection: fixed.collection,
    metadata: fixed.metadata ?? {},
    createdAt: fixed.createdAt,
    updatedAt: h.updatedAt ?? fixed.createdAt,
    lastSeq: Number(h.lastSeq ?? 0),
    summary,
    recallIndexedThroughSeq: Number(h.recallThrough ?? 0),
  };
  if (fixed.systemPrompt !== undefined) record.systemPrompt = fixed.systemPrompt;
  if (fixed.maxContextTokens !== undefined) record.maxContextTokens = fixed.maxContextTokens;
  return record;
}

function parseMessage(raw: string | null, seq: number): StoredMessage | undefined {
  if (!raw) return undefined;
  try {
    const m = JSON.parse(raw) as StoredMessage;
    return m && typeof m === 'object' && m.seq === seq ? m : undefined;
  } catch {
    return undefined;
  }
}
