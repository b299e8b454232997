import type { Readable, Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  ListToolsResultSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import pkg from '../../package.json';
import { MCP_PATH } from './mcp-path';

export interface StdioBridgeOptions {
  /** The running service, e.g. http://127.0.0.1:3000 (a path prefix, as behind a proxy, is kept). */
  url: string;
  /** A tenant API key, sent as a bearer token; none for a service with auth off. */
  apiKey?: string;
  stdin?: Readable;
  stdout?: Writable;
}

/**
 * A tool call's own deadline on its way to the service. The assistant on the other end of stdio has its own and
 * decides; the bridge should not cut an ask short before it (the SDK's default is 60 s).
 */
const CALL_TIMEOUT_MS = 10 * 60_000;

/** The service's MCP endpoint under `url`. */
export function mcpEndpoint(url: string): URL {
  try {
    return new URL(`${url.replace(/\/+$/, '')}${MCP_PATH}`);
  } catch {
    throw new Error(`${JSON.stringify(url)} is not a URL (give the service's base URL, e.g. http://127.0.0.1:3000)`);
  }
}

/**
 * For assistants that start their MCP servers as processes and speak to them over stdio: an MCP server on
 * stdin/stdout whose tools are the running service's (`POST /mcp`, with the key as a bearer token). It lists the
 * service's tools and forwards each call as it is, answers included, so it needs no change when a tool does.
 * Connects first, so a wrong URL or key fails at start with the service's own words; resolves once stdin ends.
 * Nothing but JSON-RPC is ever written to stdout.
 */
export async function runStdioBridge(opts: StdioBridgeOptions): Promise<void> {
  const endpoint = mcpEndpoint(opts.url);
  const remote = new Client({ name: 'ragmem-stdio-bridge', version: pkg.version });
  const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  try {
    await remote.connect(new StreamableHTTPClientTransport(endpoint, { requestInit: { headers } }));
  } catch (err) {
    throw new Error(`cannot open the MCP endpoint ${endpoint.href}: ${messageOf(err)}`, { cause: err });
  }

  const local = new Server(remote.getServerVersion() ?? { name: 'ragmem', version: pkg.version }, {
    capabilities: { tools: {} },
    instructions: remote.getInstructions(),
  });
  // Forwarded raw (request(), not listTools()/callTool()): the assistant checks answers against the tools' schemas.
  local.setRequestHandler(ListToolsRequestSchema, (request, extra) =>
    forwarded(endpoint, () =>
      remote.request({ method: 'tools/list', params: request.params }, ListToolsResultSchema, { signal: extra.signal }),
    ),
  );
  local.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    forwarded(endpoint, () =>
      remote.request({ method: 'tools/call', params: request.params }, CallToolResultSchema, {
        signal: extra.signal,
        timeout: CALL_TIMEOUT_MS,
      }),
    ),
  );

  const stdin = opts.stdin ?? process.stdin;
  const closed = new Promise<void>((resolve) => {
    local.onclose = resolve;
  });
  const end = () => void local.close();
  stdin.once('end', end);
  stdin.once('close', end);
  try {
    await local.connect(new StdioServerTransport(stdin, opts.stdout ?? process.stdout));
    await closed;
  } finally {
    stdin.off('end', end);
    stdin.off('close', end);
    await remote.close();
  }
}

/** The service's protocol errors pass as they are; a service that does not answer becomes one the assistant can show. */
async function forwarded<T>(endpoint: URL, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof McpError) throw err;
    throw new McpError(ErrorCode.InternalError, `ragmem at ${endpoint.href} did not answer: ${messageOf(err)}`);
  }
}

const messageOf = (err: unknown) => {
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
};
