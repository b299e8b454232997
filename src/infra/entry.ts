import { ConfigError, loadConfig, type Config } from '../config';
import { createLogger, type Logger } from './logger';
import { RedisUnreachableError } from './redis';

export interface Entry<T> {
  /** Starts each one-line exit: "<name>: <message>". */
  name: string;
  /** Bound to every log line of the process (e.g. the worker's role). */
  logBindings?: Record<string, unknown>;
  start(config: Readonly<Config>, logger: Logger): Promise<T>;
  /** Logged with the signal when SIGTERM or SIGINT arrives. */
  stoppingMessage: string;
  /** Graceful stop; the process exits 0 once it resolves. */
  stop(running: T): Promise<void>;
}

/**
 * A process entry (API server, worker): config errors and a missing Redis end the process with one clear line;
 * any other startup failure is logged as fatal and exits 1; SIGTERM/SIGINT stop gracefully and exit 0.
 */
export async function runEntry<T>(entry: Entry<T>): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) exitWithLine(entry.name, err);
    throw err;
  }
  const logger = createLogger(config.logLevel, entry.logBindings);
  let running: T;
  try {
    running = await entry.start(config, logger);
  } catch (err) {
    if (err instanceof RedisUnreachableError || err instanceof ConfigError) exitWithLine(entry.name, err);
    logger.fatal({ err }, 'startup failed');
    process.exit(1);
  }
  let stopping = false;
  const stop = (reason: Record<string, unknown>) => {
    if (stopping) return;
    stopping = true;
    logger.info(reason, entry.stoppingMessage);
    void entry.stop(running).then(() => process.exit(0));
  };
  // Ctrl-C reaches a forked worker and its API both, and the API then sends SIGTERM: one stop. The same signal twice
  // takes Node's default (exit at once), the way out of a stop that hangs.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop({ signal }));
  // A process forked by the API (RUN_WORKERS=processes) stops with it, even when the API was killed without a word.
  if (process.send) process.once('disconnect', () => stop({ reason: 'parent process gone' }));
}

function exitWithLine(name: string, err: Error): never {
  process.stderr.write(`${name}: ${err.message}\n`);
  process.exit(1);
}
