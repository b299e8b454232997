import { lowerCpuPriority } from '../src/infra/cpu-priority';
import { runEntry } from '../src/infra/entry';
import type { Config } from '../src/config';
import { createServices, type Services } from '../src/services';
import { decideListen } from '../src/tenancy/listen-policy';
import { startWorkers } from './register-workers';
import { answerMetricsRequests } from './metrics-channel';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { READY_MESSAGE } from './worker-processes';

/**
 * `npm run worker`: workers as their own process (RUN_WORKERS=off on the API). Scale by running more of these.
 * The API's default process model (RUN_WORKERS=processes) forks this same entry; see worker-processes.ts.
 *
 * Metrics: forked by the API, the process answers its parent's requests over the fork's channel (its figures are
 * served with the API's /metrics); on its own, it serves /metrics on WORKER_METRICS_PORT when that is set.
 */
void runEntry({
  name: 'ragmem-worker',
  logBindings: { role: 'worker' },
  start: async (config, logger) => {
    const nice = lowerCpuPriority(config.workers.nice);
    const services = await createServices(config, logger);
    const forked = process.send !== undefined;
    const stopAnswering = forked ? answerMetricsRequests(services.metrics.registry) : undefined;
    let metricsServer: MetricsServer | undefined;
    try {
      if (!forked && config.workers.metricsPort !== undefined) metricsServer = await serveMetrics(config, services);
    } catch (err) {
      await services.close();
      throw err;
    }
    const workers = startWorkers(services);
    logger.info({ concurrency: config.workers.concurrency, nice, metricsPort: metricsServer?.port }, 'ragmem worker started');
    process.send?.(READY_MESSAGE);
    return { services, workers, metricsServer, stopAnswering };
  },
  stoppingMessage: 'worker shutting down: finishing active jobs',
  stop: async ({ services, workers, metricsServer, stopAnswering }) => {
    stopAnswering?.();
    await workers.close();
    // Scrapes still see the last jobs' figures while they finish.
    await metricsServer?.close();
    await services.close();
  },
});

/** Where the API would listen (HOST, or by whether keys exist: loopback while none does), on WORKER_METRICS_PORT. */
async function serveMetrics(config: Readonly<Config>, services: Services): Promise<MetricsServer> {
  const listen = decideListen(config, await services.authenticator.anyKeys());
  if (listen.requireKeys) services.authenticator.requireKeys();
  return startMetricsServer({
    port: config.workers.metricsPort!,
    host: listen.host,
    registry: services.metrics.registry,
    authenticator: services.authenticator,
    adminKey: config.adminApiKey,
  });
}
