import fs from 'node:fs/promises';
import { Command } from 'commander';
import type { MessageList, RagmemClient } from '../../client';
import { clientOf } from '../client-of';
import { out, printJson } from '../output';

type Message = MessageList['messages'][number];

/** Every message of a session, oldest first (the API pages newest first). */
async function allMessages(client: RagmemClient, id: string): Promise<Message[]> {
  const messages: Message[] = [];
  let beforeSeq: number | null | undefined;
  do {
    const page = await client.sessions.messages(id, { limit: 200, ...(beforeSeq ? { beforeSeq } : {}) });
    messages.push(...page.messages);
    beforeSeq = page.nextBeforeSeq;
  } while (beforeSeq);
  return messages.sort((a, b) => a.seq - b.seq);
}

export function sessionsCommand(): Command {
  const sessions = new Command('sessions').description('read and export sessions');
  sessions
    .command('show')
    .description('print a session and its conversation')
    .argument('<id>', 'the session id')
    .option('--json', 'print JSON')
    .action(async function (this: Command, id: string, opts: { json?: boolean }) {
      const client = clientOf(this);
      const [session, messages] = await Promise.all([client.sessions.get(id), allMessages(client, id)]);
      if (opts.json) return printJson({ session, messages });
      out(`Session ${session.id}${session.collection ? ` (collection ${session.collection})` : ''}, ${messages.length} messages`);
      for (const m of messages) {
        out();
        out(`#${m.seq} ${m.role} ${m.createdAt}`);
        out(m.content);
      }
    });
  sessions
    .command('export')
    .description('write a session and every message as JSON (to stdout, or a file)')
    .argument('<id>', 'the session id')
    .option('-o, --out <file>', 'the file to write')
    .action(async function (this: Command, id: string, opts: { out?: string }) {
      const client = clientOf(this);
      const exported = { session: await client.sessions.get(id), messages: await allMessages(client, id) };
      if (!opts.out) return printJson(exported);
      await fs.writeFile(opts.out, `${JSON.stringify(exported, null, 2)}\n`);
      out(`Wrote ${exported.messages.length} messages of session ${id} to ${opts.out}.`);
    });
  return sessions;
}
