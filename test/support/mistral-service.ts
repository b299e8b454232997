import { DOUBLE_API_KEY, startMistralDouble, type MistralDouble, type MistralDoubleOptions } from './mistral-double';
import { startTestServer, type TestServer } from './test-server';

export interface ServiceOnMistral {
  server: TestServer;
  upstream: MistralDouble;
  /** Stops the service, then the double. */
  stop(): Promise<void>;
}

/** The service configured for Mistral (its key and server URL), pointed at a fresh local double of Mistral's API. */
export async function startServiceOnMistral(
  env: Record<string, string> = {},
  double: MistralDoubleOptions = { dimensions: 1024 },
): Promise<ServiceOnMistral> {
  const upstream = await startMistralDouble(double);
  let server: TestServer;
  try {
    server = await startTestServer({ MISTRAL_API_KEY: DOUBLE_API_KEY, MISTRAL_SERVER_URL: upstream.url, ...env });
  } catch (err) {
    await upstream.close();
    throw err;
  }
  return {
    server,
    upstream,
    stop: async () => {
      await server.cleanup();
      await upstream.close();
    },
  };
}
