import { z } from 'zod';

export const HealthSchema = z.object({ status: z.literal('ok') });
export type Health = z.output<typeof HealthSchema>;

const check = z.string().describe('"ok" or "unavailable: <reason>"');

export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z
    .object({ redis: check, vectorStore: check })
    .optional()
    .describe('Only with ADMIN_API_KEY, or while no key exists at all (auth off, loopback only)'),
});
export type Readiness = z.output<typeof ReadinessSchema>;
