import fs from 'node:fs/promises';
import path from 'node:path';
import type { ParsedDocument } from '../../core/parsed-document';
import { INBOX_MAX_BYTES, type SourceInbox } from './source-inbox';

/**
 * Keeps each document version's original bytes and its extracted text, so a reindex never needs the upload again.
 * Files under DATA_DIR/sources: on several machines DATA_DIR must be a shared volume (docker-compose mounts one).
 */
export class SourceStore {
  /** Directories known to exist: creating one per write would cost a syscall per document on bulk uploads. */
  private readonly made = new Set<string>();

  /** `inbox`: where a bulk upload's small sources wait until first read (see SourceInbox). */
  constructor(
    private readonly root: string,
    private readonly inbox?: SourceInbox,
  ) {}

  // Files of one document sit in a shard directory by the id's last two characters, named `<id>.v<version>.<kind>`,
  // so a directory never holds more than a small share of a tenant's documents.
  private dir(tenant: string, documentId: string) {
    return path.join(this.root, encodeURIComponent(tenant), encodeURIComponent(documentId.slice(-2)));
  }
  private file(tenant: string, documentId: string, version: number, kind: 'original' | 'parsed.json') {
    return path.join(this.dir(tenant, documentId), `${encodeURIComponent(documentId)}.v${version}.${kind}`);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await fs.mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  /**
   * Where a new document's first source may wait in Redis (the inbox key, written by the caller with the record) or
   * undefined when it must be a file first: no inbox, or larger than INBOX_MAX_BYTES.
   */
  inboxKeyOfNew(tenant: string, documentId: string, bytes: number): string | undefined {
    return this.inbox && bytes <= INBOX_MAX_BYTES ? this.inbox.key(tenant, documentId, 1) : undefined;
  }

  /** Written once per version before the document record exists, so it needs no atomic rename. */
  async putOriginal(tenant: string, documentId: string, version: number, bytes: Buffer): Promise<void> {
    const file = this.file(tenant, documentId, version, 'original');
    await this.ensureDir(path.dirname(file));
    await fs.writeFile(file, bytes);
  }

  async getOriginal(tenant: string, documentId: string, version: number): Promise<Buffer | undefined> {
    return (await readIfExists(this.file(tenant, documentId, version, 'original'))) ?? this.fromInbox(tenant, documentId, version);
  }

  /** A source still in the inbox is written to its file (then dropped from the inbox) and answered. */
  private async fromInbox(tenant: string, documentId: string, version: number): Promise<Buffer | undefined> {
    const bytes = await this.inbox?.get(tenant, documentId, version);
    if (!bytes) return undefined;
    await this.putOriginal(tenant, documentId, version, bytes);
    await this.inbox!.remove(tenant, documentId, version);
    return bytes;
  }

  /** Retries may write it again while a reader is open: tmp file and rename keep readers whole. */
  async putParsed(tenant: string, documentId: string, version: number, parsed: ParsedDocument): Promise<void> {
    const file = this.file(tenant, documentId, version, 'parsed.json');
    await this.ensureDir(path.dirname(file));
    await writeAtomically(file, Buffer.from(JSON.stringify(parsed)));
  }

  async getParsed(tenant: string, documentId: string, version: number): Promise<ParsedDocument | undefined> {
    const raw = await readIfExists(this.file(tenant, documentId, version, 'parsed.json'));
    return raw ? (JSON.parse(raw.toString('utf8')) as ParsedDocument) : undefined;
  }

  /**
   * Copies one version's stored source to another version (a reindex), file to file: the parsed copy when there is
   * one, else the original. Answers false when neither exists.
   */
  async copyVersion(tenant: string, documentId: string, from: number, to: number): Promise<boolean> {
    // Both versions sit in the same shard directory, which exists whenever the source does.
    const parsed = this.file(tenant, documentId, to, 'parsed.json');
    if (await copyIfExists(this.file(tenant, documentId, from, 'parsed.json'), parsed, true)) return true;
    await this.fromInbox(tenant, documentId, from);
    return copyIfExists(this.file(tenant, documentId, from, 'original'), this.file(tenant, documentId, to, 'original'), false);
  }

  /** Removes one known version's files (a discarded upload), without listing the directory. */
  async removeVersion(tenant: string, documentId: string, version: number): Promise<void> {
    await Promise.all([
      ...(['original', 'parsed.json'] as const).map((kind) => fs.rm(this.file(tenant, documentId, version, kind), { force: true })),
      this.inbox?.remove(tenant, documentId, version),
    ]);
  }

  /** Drops every version except `keepVersion` (all when undefined). */
  async prune(tenant: string, documentId: string, keepVersion?: number): Promise<void> {
    const dir = this.dir(tenant, documentId);
    const mine = `${encodeURIComponent(documentId)}.v`;
    const keep = keepVersion === undefined ? undefined : `${mine}${keepVersion}.`;
    // Only first versions ever wait in the inbox.
    if (keepVersion !== 1) await this.inbox?.remove(tenant, documentId, 1);
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((n) => n.startsWith(mine) && (keep === undefined || !n.startsWith(keep)))
        .map((n) => fs.rm(path.join(dir, n), { force: true })),
    );
  }
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const tmp = tmpName(file);
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

/** Parsed copies go through a tmp file and a rename, like `putParsed`, so readers stay whole. */
async function copyIfExists(from: string, to: string, atomic: boolean): Promise<boolean> {
  const target = atomic ? tmpName(to) : to;
  try {
    await fs.copyFile(from, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (atomic) await fs.rename(target, to);
  return true;
}

const tmpName = (file: string) => `${file}.${process.pid}.${Date.now()}.tmp`;

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
