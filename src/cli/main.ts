#!/usr/bin/env node
import { Command } from 'commander';
import { RagmemError } from '../client';
import { askCommand } from './commands/ask';
import { documentsCommand } from './commands/documents';
import { ingestCommand } from './commands/ingest';
import { mcpCommand } from './commands/mcp';
import { reindexCommand } from './commands/reindex';
import { searchCommand } from './commands/search';
import { sessionsCommand } from './commands/sessions';
import { keysProgram } from './keys';
import { err } from './output';

/**
 * `ragmem`: the command line of a running service (RAGMEM_URL, RAGMEM_API_KEY; --url and --key override), on the
 * typed client; `ragmem keys` manages keys in the service's Redis directly (an operator's command, with the service's
 * REDIS_URL), as `npm run keys` does.
 */
export function ragmemProgram(): Command {
  const program = new Command('ragmem')
    .description('Grounded answers and long-term memory: upload documents, search, ask, manage a ragmem service')
    .option('--url <url>', 'the service (default RAGMEM_URL, else http://127.0.0.1:3000)')
    .option('--key <key>', 'an API key (default RAGMEM_API_KEY)')
    .showHelpAfterError();
  for (const command of [
    ingestCommand(),
    searchCommand(),
    askCommand(),
    sessionsCommand(),
    documentsCommand(),
    reindexCommand(),
    keysProgram(),
    mcpCommand(),
  ]) {
    program.addCommand(command);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await ragmemProgram().parseAsync(argv);
  } catch (e) {
    // The service's own words (code and message) for its refusals; a plain line for everything else a user can fix.
    if (e instanceof RagmemError) err(`ragmem: ${e.code}: ${e.message}`);
    else if (e instanceof Error && 'code' in e && e.code === 'ECONNREFUSED') err(`ragmem: cannot reach the service: ${e.message}`);
    else if (e instanceof TypeError && e.message === 'fetch failed')
      err(`ragmem: cannot reach the service (${String(e.cause ?? e.message)})`);
    else err(`ragmem: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
