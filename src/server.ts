import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './infra/logger';
import { RedisUnreachableError } from './infra/redis';
import { createServices, type Services } from './services';
import { startWorkers, type RunningWorkers } from '../workers/register-workers';

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** Graceful: stop accepting, finish in-flight requests and jobs, close connections. Idempotent. */
  stop(): Promise<void>;
}

export async function startServer(config: Readonly<Config>, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  if (!config.apiKeys) logger.warn('API_KEYS is not set: authentication is off and every request is tenant "default"');
  const services = await createServices(config, logger);
  const app = createApp(services);

  const workers: RunningWorkers | undefined = config.workers.mode === 'inline' ? startWorkers(services) : undefined;

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  logger.info({ port, vectorStore: services.vectors.kind, workers: config.workers.mode }, 'ragmem listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Requests still running after the grace period are cut, so shutdown always ends.
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      force.unref();
      await Promise.allSettled([closed, workers?.close()]);
      clearTimeout(force);
      await services.close();
      logger.info('ragmem stopped');
    })();
    return stopping;
  };
  return { url: `http://${host}:${port}`, port, services, stop };
}

/** Process entry: config errors and a missing Redis end the process with one clear line. */
export async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ragmem: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    if (err instanceof RedisUnreachableError || err instanceof ConfigError) {
      process.stderr.write(`ragmem: ${err.message}\n`);
      process.exit(1);
    }
    logger.fatal({ err }, 'startup failed');
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      void running.stop().then(() => process.exit(0));
    });
  }
}

if (require.main === module) void main();
