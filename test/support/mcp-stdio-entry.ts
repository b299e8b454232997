import { mcpCommand } from '../../src/cli/commands/mcp';

/**
 * `ragmem mcp` on its own, for tests that start it as an MCP server process over stdio (the CLI's main file registers
 * the same command): `node --import tsx test/support/mcp-stdio-entry.ts --url URL --key KEY`.
 */
mcpCommand()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`ragmem mcp: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
