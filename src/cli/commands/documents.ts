import { Command, Option } from 'commander';
import type { Document } from '../../client';
import { DOCUMENT_STATUSES } from '../../stores/document/document-types';
import { clientOf } from '../client-of';
import { formatTable, out, printJson } from '../output';

export function documentsCommand(): Command {
  const documents = new Command('documents').description('list and delete documents');
  documents
    .command('list')
    .description('list documents, newest first')
    .option('-c, --collection <name>', 'only this collection')
    .addOption(new Option('--status <status>', 'only documents in this state').choices(DOCUMENT_STATUSES))
    .option('--json', 'print JSON')
    .action(async function (this: Command, opts: { collection?: string; status?: Document['status']; json?: boolean }) {
      const listed: Document[] = [];
      for await (const doc of clientOf(this).documents.all({
        ...(opts.collection ? { collection: opts.collection } : {}),
        ...(opts.status ? { status: opts.status } : {}),
      }))
        listed.push(doc);
      if (opts.json) return printJson(listed);
      if (listed.length === 0) return out('No documents.');
      out(
        formatTable(
          ['ID', 'STATUS', 'COLLECTION', 'CHUNKS', 'TITLE', 'ERROR'],
          listed.map((d) => [d.id, d.status, d.collection, String(d.chunkCount), d.title ?? '', d.error?.code ?? '']),
          60,
        ),
      );
    });
  documents
    .command('rm')
    .description('delete documents (their chunks leave search before the command returns)')
    .argument('<ids...>', 'document ids')
    .action(async function (this: Command, ids: string[]) {
      const client = clientOf(this);
      for (const id of ids) {
        await client.documents.delete(id);
        out(`Deleted ${id}.`);
      }
    });
  return documents;
}
