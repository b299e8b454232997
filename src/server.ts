import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { answerClientError } from './api/middleware/error-handler';
import type { Config } from './config';
import { createLogger, type Logger } from './infra/logger';
import { runEntry } from './infra/entry';
import { trackForDrain } from './infra/http-drain';
import { createServices, registerSharedStateGauges, type Services } from './services';
import { decideListen, type ListenDecision } from './tenancy/listen-policy';
import { startWorkers, type RunningWorkers } from '../workers/register-workers';
import { startWorkerProcesses, type WorkerProcesses } from '../workers/worker-processes';

export interface RunningServer {
  url: string;
  port: number;
  /** The address listened on (127.0.0.1 when no key exists and HOST is unset). */
  host: string;
  services: Services;
  /** With RUN_WORKERS=processes: the worker processes this API forked and keeps running. */
  workerProcesses?: WorkerProcesses;
  /** Graceful: stop accepting, finish in-flight requests and jobs, close connections. Idempotent. */
  stop(): Promise<void>;
}

export async function startServer(config: Readonly<Config>, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const services = await createServices(config, logger);
  // Keys in Redis are known only now; a refusal closes what was opened so the process can exit with one line.
  let listen: ListenDecision;
  try {
    listen = decideListen(config, await services.authenticator.anyKeys());
  } catch (err) {
    await services.close();
    throw err;
  }
  if (listen.warning) logger.warn(listen.warning);
  if (listen.requireKeys) services.authenticator.requireKeys();
  registerSharedStateGauges(services);

  const workers: RunningWorkers | undefined = config.workers.mode === 'inline' ? startWorkers(services) : undefined;
  const workerProcesses =
    config.workers.mode === 'processes'
      ? startWorkerProcesses({
          count: config.workers.processes,
          env: config.workers.env,
          logger,
          // The child's own bound (WORKER_CLOSE_TIMEOUT_MS) plus time to close its connections.
          stopTimeoutMs: config.workers.closeTimeoutMs + 10_000,
        })
      : undefined;
  // The forked workers' metrics are served with the API's own (they have no port of their own).
  const app = createApp(workerProcesses ? { ...services, metricsFeeds: [() => workerProcesses.metrics()] } : services);

  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      const s = app.listen(config.port, listen.host, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    // The port is taken: nothing this process started may outlive it.
    await Promise.allSettled([workers?.close(), workerProcesses?.stop()]);
    await services.close();
    throw err;
  }
  server.keepAliveTimeout = 65_000;
  // Requests Node's HTTP parser refuses (header block over 16 KiB, broken framing) get the error envelope too.
  server.on('clientError', answerClientError);
  const http = trackForDrain(server);
  const { port } = server.address() as AddressInfo;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  logger.info(
    {
      host: listen.host,
      port,
      vectorStore: services.vectors.kind,
      workers: config.workers.mode,
      workerProcesses: workerProcesses ? config.workers.processes : undefined,
    },
    'ragmem listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Requests still running after the grace period are cut, so shutdown always ends.
      const drained = http.drain(config.shutdownTimeoutMs).then(({ cut }) => {
        if (cut > 0)
          logger.warn({ cut, shutdownTimeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout passed: requests still running were cut');
      });
      await Promise.allSettled([drained, workers?.close(), workerProcesses?.stop()]);
      await services.close();
      logger.info('ragmem stopped');
    })();
    return stopping;
  };
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, host: listen.host, services, workerProcesses, stop };
}

/** Process entry (`npm start`): see runEntry for exits and signals. */
export async function main(): Promise<void> {
  await runEntry({
    name: 'ragmem',
    start: (config, logger) => startServer(config, logger),
    stoppingMessage: 'shutting down',
    stop: (running) => running.stop(),
  });
}

if (require.main === module) void main();
