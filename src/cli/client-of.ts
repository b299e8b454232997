import { InvalidArgumentError, type Command } from 'commander';
import { RagmemClient } from '../client';
import { cliDefaults } from './cli-env';

export interface GlobalOptions {
  url?: string;
  key?: string;
}

/** The client a command talks through: --url and --key, else RAGMEM_URL and RAGMEM_API_KEY. */
export function clientOf(command: Command): RagmemClient {
  const opts = command.optsWithGlobals<GlobalOptions>();
  const defaults = cliDefaults();
  return new RagmemClient({ baseUrl: opts.url ?? defaults.url, apiKey: opts.key ?? defaults.apiKey });
}

/** A positive whole number option (commander passes strings). */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a positive whole number, not ${JSON.stringify(value)}`);
    return n;
  };
}
