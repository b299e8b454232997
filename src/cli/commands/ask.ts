import { Command } from 'commander';
import type { AskAnswer } from '../../client';
import { clientOf, positiveInt } from '../client-of';
import { err, out, printJson } from '../output';

/** The sources an answer cites, one line each, as the answer's markers name them. */
export function formatCitations(answer: AskAnswer): string {
  if (answer.citations.length === 0) return 'No sources cited.';
  return [
    'Sources:',
    ...answer.citations.map((c) => `  [${c.marker}] ${c.title || '(untitled)'}  document ${c.documentId}, chunk ${c.chunkId}`),
  ].join('\n');
}

export function askCommand(): Command {
  return new Command('ask')
    .description('ask a question in a session; the answer streams in, then its sources')
    .argument('<question>', 'the question')
    .requiredOption('-s, --session <id>', 'the session (created on first use)')
    .option('-c, --collection <name>', 'the collection to retrieve from')
    .option('-k, --k <n>', 'chunks to retrieve', positiveInt('--k'))
    .option('--json', 'wait for the whole answer and print it as JSON')
    .action(async function (this: Command, question: string, opts: { session: string; collection?: string; k?: number; json?: boolean }) {
      const client = clientOf(this);
      const body = { question, ...(opts.collection ? { collection: opts.collection } : {}), ...(opts.k ? { k: opts.k } : {}) };
      if (opts.json) return printJson(await client.sessions.ask(opts.session, body));
      for await (const event of client.sessions.askStream(opts.session, body)) {
        if (event.type === 'delta') process.stdout.write(event.text);
        else if (event.type === 'done') {
          out();
          out();
          out(formatCitations(event.answer));
        } else if (event.type === 'error') {
          // The stream was open when it failed: the status is sent, so the error comes as an event.
          out();
          err(`ragmem: ${event.code}: ${event.message}`);
          process.exitCode = 1;
        }
      }
    });
}
