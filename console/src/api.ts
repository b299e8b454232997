import { RagmemClient, RagmemError } from '../../src/client';

/** Where the key the user entered is kept between visits (this browser only). */
export const KEY_STORAGE = 'ragmem.apiKey';

/**
 * The console's API state: one RagmemClient for the current key, and what a 401 means (the key form opens).
 * Every view calls the service through `call`, so an unauthorized answer is handled in one place.
 */
export class ConsoleApi {
  client: RagmemClient;
  private apiKey: string | undefined;
  private readonly unauthorized = new Set<(message: string) => void>();

  constructor(
    private readonly baseUrl: string,
    private readonly storage: Storage | undefined,
  ) {
    this.apiKey = this.read();
    this.client = this.build();
  }

  get key(): string | undefined {
    return this.apiKey;
  }

  /** Stores the key (or forgets it with undefined) and makes a new client with it. */
  setKey(key: string | undefined): void {
    this.apiKey = key?.trim() || undefined;
    try {
      if (this.apiKey) this.storage?.setItem(KEY_STORAGE, this.apiKey);
      else this.storage?.removeItem(KEY_STORAGE);
    } catch {
      /* storage refused (private mode, quota): the key lasts for this page only */
    }
    this.client = this.build();
  }

  onUnauthorized(listener: (message: string) => void): void {
    this.unauthorized.add(listener);
  }

  /** Runs one call with the current client; a 401 opens the key form, and every error is rethrown to the caller. */
  async call<T>(fn: (client: RagmemClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client);
    } catch (err) {
      this.noticeUnauthorized(err);
      throw err;
    }
  }

  /** Tells the key form about a 401 (for calls made outside `call`, such as a stream). */
  noticeUnauthorized(err: unknown): void {
    if (err instanceof RagmemError && err.status === 401) for (const listener of this.unauthorized) listener(err.message);
  }

  private read(): string | undefined {
    try {
      return this.storage?.getItem(KEY_STORAGE) || undefined;
    } catch {
      return undefined;
    }
  }

  private build(): RagmemClient {
    return new RagmemClient({ baseUrl: this.baseUrl, apiKey: this.apiKey });
  }
}

/** One line for the user: the service's code and message, or what went wrong on the way. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof RagmemError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'network_error', message: err.message };
  return { code: 'error', message: String(err) };
}
