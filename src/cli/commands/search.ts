import { Command, Option } from 'commander';
import { clientOf, positiveInt } from '../client-of';
import { formatTable, out, printJson } from '../output';

export function searchCommand(): Command {
  return new Command('search')
    .description('search the documents and print the hits')
    .argument('<query>', 'what to look for')
    .option('-c, --collection <name>', 'the collection to search')
    .option('-k, --k <n>', 'how many hits', positiveInt('--k'), 8)
    .addOption(new Option('-m, --mode <mode>', 'how to match').choices(['hybrid', 'dense', 'keyword']))
    .option('--json', 'print the answer as JSON')
    .action(async function (
      this: Command,
      query: string,
      opts: { collection?: string; k: number; mode?: 'hybrid' | 'dense' | 'keyword'; json?: boolean },
    ) {
      const res = await clientOf(this).search({
        query,
        k: opts.k,
        ...(opts.collection ? { collection: opts.collection } : {}),
        ...(opts.mode ? { mode: opts.mode } : {}),
      });
      if (opts.json) return printJson(res);
      if (res.results.length === 0) return out('No hits.');
      out(
        formatTable(
          ['#', 'SCORE', 'TITLE', 'DOCUMENT', 'TEXT'],
          res.results.map((r, i) => [String(i + 1), r.score.toFixed(3), r.title ?? '', r.documentId, r.text]),
          60,
        ),
      );
    });
}
