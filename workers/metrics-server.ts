import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Registry } from 'prom-client';
import { requireAdminKeyWhileAuthOn } from '../src/api/middleware/admin-auth';
import { errorHandler, notFoundRoute } from '../src/api/middleware/error-handler';
import type { Authenticator } from '../src/tenancy/authenticator';

export interface MetricsServerOptions {
  port: number;
  host: string;
  registry: Registry;
  authenticator: Authenticator;
  adminKey?: string;
}

export interface MetricsServer {
  port: number;
  /** Stops listening and drops open (keep-alive) connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * The HTTP side of a worker process run on its own (WORKER_METRICS_PORT): `/metrics` for Prometheus, guarded exactly
 * like the API's (the admin key once any API key exists; open while none does, and then only on loopback), and
 * `/healthz`, public, which answers while the process runs (the compose file's healthcheck of a worker).
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', requireAdminKeyWhileAuthOn(opts.authenticator, opts.adminKey), async (_req, res) => {
    const text = await opts.registry.metrics();
    res.setHeader('Content-Type', opts.registry.contentType);
    res.send(text);
  });
  app.use(notFoundRoute);
  app.use(errorHandler);
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
