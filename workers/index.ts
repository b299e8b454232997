import { lowerCpuPriority } from '../src/infra/cpu-priority';
import { runEntry } from '../src/infra/entry';
import { createServices } from '../src/services';
import { startWorkers } from './register-workers';
import { READY_MESSAGE } from './worker-processes';

/**
 * `npm run worker`: workers as their own process (RUN_WORKERS=off on the API). Scale by running more of these.
 * The API's default process model (RUN_WORKERS=processes) forks this same entry; see worker-processes.ts.
 */
void runEntry({
  name: 'ragmem-worker',
  logBindings: { role: 'worker' },
  start: async (config, logger) => {
    const nice = lowerCpuPriority(config.workers.nice);
    const services = await createServices(config, logger);
    const workers = startWorkers(services);
    logger.info({ concurrency: config.workers.concurrency, nice }, 'ragmem worker started');
    process.send?.(READY_MESSAGE);
    return { services, workers };
  },
  stoppingMessage: 'worker shutting down: finishing active jobs',
  stop: async ({ services, workers }) => {
    await workers.close();
    await services.close();
  },
});
