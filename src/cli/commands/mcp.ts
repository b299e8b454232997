import { Command } from 'commander';
import { runStdioBridge } from '../../mcp/stdio-bridge';
import { cliDefaults } from '../cli-env';
import type { GlobalOptions } from '../client-of';

/**
 * `ragmem mcp [--url URL] [--key KEY]`: the service's MCP tools on stdin/stdout, for assistants that start MCP servers
 * as processes (src/mcp/stdio-bridge.ts). --url and --key are also `ragmem`'s own options, so they work before or after
 * `mcp`; without them, RAGMEM_URL and RAGMEM_API_KEY. Prefer RAGMEM_API_KEY in the assistant's config: a key on the
 * command line is visible to every process list. Nothing but MCP messages goes to stdout.
 */
export function mcpCommand(): Command {
  return new Command('mcp')
    .description("serve the service's MCP tools over stdio (for desktop assistants); runs until stdin closes")
    .option('--url <url>', 'the service (default RAGMEM_URL, else http://127.0.0.1:3000)')
    .option('--key <key>', 'an API key (default RAGMEM_API_KEY)')
    .action(async function (this: Command) {
      const opts = this.optsWithGlobals<GlobalOptions>();
      const defaults = cliDefaults();
      await runStdioBridge({ url: opts.url ?? defaults.url, apiKey: opts.key ?? defaults.apiKey });
    });
}
