/**
 * The CLI's settings from its environment, read in this one place (the service's own settings are read by
 * src/config.ts; the CLI is a client of a running service and needs only where it is and which key to send).
 * Flags override them.
 */
export interface CliDefaults {
  url: string;
  apiKey?: string;
}

export function cliDefaults(env: NodeJS.ProcessEnv = process.env): CliDefaults {
  return {
    url: env.RAGMEM_URL?.trim() || 'http://127.0.0.1:3000',
    apiKey: env.RAGMEM_API_KEY?.trim() || undefined,
  };
}
