import { z } from 'zod';
import type { UsageRow } from '../../gateway/safety/usage-meter';
import { count } from './common';

const day = (description: string) => z.string().describe(description);
const tokensAndCost = { promptTokens: count(), completionTokens: count(), costUsd: z.number().min(0), calls: count() };

/** GET /usage: tokens and cost per model and day, their totals, and what the tenant holds against its quotas now. */
export const UsageSchema = z.object({
  from: day('UTC day, YYYY-MM-DD'),
  to: day('UTC day, YYYY-MM-DD'),
  usage: z.array(z.object({ day: day('UTC day, YYYY-MM-DD'), model: z.string(), ...tokensAndCost })),
  totals: z.object(tokensAndCost),
  storage: z.object({
    documents: count('documents the tenant holds now'),
    bytes: count('bytes of their current sources'),
    reindexJobs: count('reindex jobs queued or running'),
    quotas: z.object({
      documents: count('TENANT_MAX_DOCUMENTS (0: none)'),
      bytes: count('TENANT_MAX_BYTES (0: none)'),
      reindexJobs: count('TENANT_MAX_REINDEX_JOBS (0: none)'),
    }),
  }),
});
export type Usage = z.output<typeof UsageSchema>;

export type UsageRowView = Usage['usage'][number];

export const toUsageRowView = (r: UsageRow): UsageRowView => ({
  day: r.day,
  model: r.model,
  promptTokens: r.promptTokens,
  completionTokens: r.completionTokens,
  costUsd: r.costUsd,
  calls: r.calls,
});
