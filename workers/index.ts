import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { RedisUnreachableError } from '../src/infra/redis';
import { createServices } from '../src/services';
import { startWorkers } from './register-workers';

/** `npm run worker`: workers as their own process (RUN_WORKERS=off on the API). Scale by running more of these. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ragmem-worker: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { role: 'worker' });
  let services;
  try {
    services = await createServices(config, logger);
  } catch (err) {
    if (err instanceof RedisUnreachableError || err instanceof ConfigError) {
      process.stderr.write(`ragmem-worker: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const running = startWorkers(services);
  logger.info({ concurrency: config.workers.concurrency }, 'ragmem worker started');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'worker shutting down: finishing active jobs');
      void running
        .close()
        .then(() => services.close())
        .then(() => process.exit(0));
    });
  }
}

void main();
