import { z } from 'zod';

const day = (description: string) => z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day as YYYY-MM-DD').describe(description);

export const usageQuery = z.strictObject({
  from: day('UTC day, YYYY-MM-DD (default: 29 days before `to`); at most 400 days apart').optional(),
  to: day('UTC day, YYYY-MM-DD (default: today); at most 400 days apart').optional(),
});
