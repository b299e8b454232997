import type { Server, ServerResponse } from 'node:http';

export interface HttpDrain {
  /**
   * Stops accepting, lets the requests in flight finish, and resolves once every connection is closed; past
   * `timeoutMs` it cuts what is still running. Answers how many requests were cut (0 when all finished in time).
   */
  drain(timeoutMs: number): Promise<{ cut: number }>;
}

/**
 * Graceful HTTP stop that works for keep-alive clients. `server.close()` only refuses new connections: a client holding
 * a keep-alive connection goes on sending requests over it, so under load the server never ran dry, every stop waited
 * the whole SHUTDOWN_TIMEOUT_MS and then cut the requests still running (test/chaos/sigterm-under-load: with 8 clients,
 * ~470 requests were served after SIGTERM, then 6-7 were cut, one of them an ask whose turn was stored but whose
 * answer never reached the client). Once draining, every response closes its connection (`Connection: close`) and a
 * connection left idle is closed at once, so the server closes as soon as the requests in flight are answered.
 * Call right after the server starts listening, before any request.
 */
export function trackForDrain(server: Server): HttpDrain {
  const open = new Set<ServerResponse>();
  let draining = false;
  const closeAfterwards = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  };
  // Ahead of the app's listener: the header goes on before a route can answer synchronously.
  server.prependListener('request', (_req, res: ServerResponse) => {
    open.add(res);
    res.once('close', () => {
      open.delete(res);
      // A response whose headers went out before draining kept its connection alive: close it once it is idle.
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
    if (draining) closeAfterwards(res);
  });
  let drained: Promise<{ cut: number }> | undefined;
  return {
    drain(timeoutMs) {
      drained ??= new Promise((resolve) => {
        draining = true;
        let cut = 0;
        const force = setTimeout(() => {
          cut = open.size;
          server.closeAllConnections();
        }, timeoutMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve({ cut });
        });
        for (const res of open) closeAfterwards(res);
        server.closeIdleConnections();
      });
      return drained;
    },
  };
}
