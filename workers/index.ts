import { runEntry } from '../src/infra/entry';
import { createServices } from '../src/services';
import { startWorkers } from './register-workers';

/** `npm run worker`: workers as their own process (RUN_WORKERS=off on the API). Scale by running more of these. */
void runEntry({
  name: 'ragmem-worker',
  logBindings: { role: 'worker' },
  start: async (config, logger) => {
    const services = await createServices(config, logger);
    const workers = startWorkers(services);
    logger.info({ concurrency: config.workers.concurrency }, 'ragmem worker started');
    return { services, workers };
  },
  stoppingMessage: 'worker shutting down: finishing active jobs',
  stop: async ({ services, workers }) => {
    await workers.close();
    await services.close();
  },
});
