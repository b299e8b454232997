import { z } from 'zod';

/** A calendar day that exists: `2024-13-01` or `2023-02-29` match the pattern but would roll over (or throw) in Date. */
const isRealDay = (s: string) => {
  const ms = Date.parse(`${s}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === s;
};

const day = (description: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day as YYYY-MM-DD')
    .refine(isRealDay, 'not a calendar day')
    .describe(description);

export const usageQuery = z.strictObject({
  from: day('UTC day, YYYY-MM-DD (default: 29 days before `to`); at most 400 days apart').optional(),
  to: day('UTC day, YYYY-MM-DD (default: today); at most 400 days apart').optional(),
});
