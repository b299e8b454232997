import type { FairScheduler } from '../tenancy/fair-scheduler';

/**
 * The tenant's turn at this process's work, as the HTTP turn middleware (api/middleware/fair-admission.ts) gives it to
 * every other request. The MCP endpoint is mounted ahead of that middleware because one POST /mcp may be an ask, and
 * an ask must not hold a turn while it waits for the model (askSession takes its own turn for building the context):
 * taking one here around an ask would also make it wait for a second turn while holding the first, which under a flood
 * from one tenant would leave every place held by an ask waiting for another. So the tools that work take a turn here,
 * and `ask` does not.
 */
export async function withTenantTurn<T>(
  scheduler: Pick<FairScheduler, 'enter' | 'enabled'>,
  tenant: string,
  signal: AbortSignal,
  work: () => Promise<T>,
): Promise<T> {
  if (!scheduler.enabled) return work();
  const release = await scheduler.enter(tenant, (cancel) => signal.addEventListener('abort', cancel, { once: true }));
  try {
    return await work();
  } finally {
    release();
  }
}
