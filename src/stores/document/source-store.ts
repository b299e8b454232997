import fs from 'node:fs/promises';
import path from 'node:path';
import type { ParsedDocument } from '../../ingest/types';

/**
 * Keeps each document version's original bytes and its extracted text, so a reindex never needs the upload again.
 * Files under DATA_DIR/sources: on several machines DATA_DIR must be a shared volume (docker-compose mounts one).
 */
export class SourceStore {
  constructor(private readonly root: string) {}

  private dir(tenant: string, documentId: string) {
    return path.join(this.root, encodeURIComponent(tenant), encodeURIComponent(documentId));
  }
  private file(tenant: string, documentId: string, version: number, kind: 'original' | 'parsed.json') {
    return path.join(this.dir(tenant, documentId), `v${version}.${kind}`);
  }

  async putOriginal(tenant: string, documentId: string, version: number, bytes: Buffer): Promise<void> {
    await writeAtomically(this.file(tenant, documentId, version, 'original'), bytes);
  }

  async getOriginal(tenant: string, documentId: string, version: number): Promise<Buffer | undefined> {
    return readIfExists(this.file(tenant, documentId, version, 'original'));
  }

  async putParsed(tenant: string, documentId: string, version: number, parsed: ParsedDocument): Promise<void> {
    await writeAtomically(this.file(tenant, documentId, version, 'parsed.json'), Buffer.from(JSON.stringify(parsed)));
  }

  async getParsed(tenant: string, documentId: string, version: number): Promise<ParsedDocument | undefined> {
    const raw = await readIfExists(this.file(tenant, documentId, version, 'parsed.json'));
    return raw ? (JSON.parse(raw.toString('utf8')) as ParsedDocument) : undefined;
  }

  /** Drops every version except `keepVersion` (all when undefined). */
  async prune(tenant: string, documentId: string, keepVersion?: number): Promise<void> {
    const dir = this.dir(tenant, documentId);
    if (keepVersion === undefined) {
      await fs.rm(dir, { recursive: true, force: true });
      return;
    }
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => !n.startsWith(`v${keepVersion}.`)).map((n) => fs.rm(path.join(dir, n), { force: true })),
    );
  }
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
