import type { RequestHandler } from 'express';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { AppDeps } from '../api/app-deps';
import { tenantOf } from '../api/middleware/auth';
import { listedRouter, type ListedRouter } from '../api/routes/listed-router';
import { AppError } from '../errors';
import type { AskSlots } from '../api/middleware/ask-admission';
import { refusalOf, transportRequest } from './mcp-http';
import { MCP_PATH } from './mcp-path';
import { createMcpServer } from './mcp-tools';

/**
 * `POST /mcp`: the Model Context Protocol over Streamable HTTP, stateless (the SDK's pattern: a new server and
 * transport per request, no MCP session id), answering JSON rather than an SSE stream. Mounted after the tenant auth
 * middleware, so a request without a valid key never gets here (401 in the API's envelope) and the tools serve the
 * key's tenant only. The body is already parsed (express.json, under MAX_JSON_BYTES) and handed to the transport.
 *
 * The transport is the SDK's web-standard one (which its Node `StreamableHTTPServerTransport` wraps, writing to the
 * socket itself): its answer comes back as a Response, so its refusals can be answered like every other error of the
 * API (envelope, catalogue code) instead of as JSON-RPC errors only MCP clients read.
 */
export function mcpRouter(deps: AppDeps, askSlots: AskSlots): ListedRouter {
  const router = listedRouter();

  router.post(MCP_PATH, async (req, res) => {
    if (!req.is('application/json')) {
      throw new AppError('unsupported_media_type', 'POST /mcp takes a JSON-RPC message (or a batch) as application/json');
    }
    const server = createMcpServer(deps, tenantOf(res), askSlots);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    // When the answer is sent, or the client goes away first: closing aborts a tool still running (an ask's model call
    // is then cancelled and nothing is stored, as for an HTTP client that leaves).
    const gone = new Promise<undefined>((resolve) =>
      res.once('close', () => {
        server.close().catch((err: unknown) => deps.logger.warn({ err }, 'closing an MCP request failed'));
        resolve(undefined);
      }),
    );
    await server.connect(transport);
    const answer = await Promise.race([transport.handleRequest(transportRequest(req, MCP_PATH), { parsedBody: req.body }), gone]);
    if (!answer) return;
    const refusal = await refusalOf(answer);
    if (refusal) throw refusal;
    res.status(answer.status);
    answer.headers.forEach((value, name) => res.setHeader(name, value));
    res.end(Buffer.from(await answer.arrayBuffer()));
  });

  // A stateless server offers no SSE stream to GET and no session to DELETE; the MCP spec's answer is 405, which its
  // clients expect (the SDK's client then goes on without a stream, where a 404 would be reported as an error). The
  // catalogue has no 405 code, so these are answered as the SDK answers them, with a JSON-RPC error, and are not
  // declared as routes of the API (the OpenAPI document's POST /mcp says so).
  const notAllowed: RequestHandler = (req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({
        jsonrpc: '2.0',
        error: { code: -32000, message: `Method not allowed: ${req.method} ${MCP_PATH} takes POST only` },
        id: null,
      });
  };
  router.all(MCP_PATH, notAllowed);

  return router;
}
