import type { TokenUsage } from '../provider';

/** USD per million tokens. */
export interface ModelPricing {
  inputPerMillion: number;
  outputPerMillion: number;
}

/** Cost of one call in USD. Unknown pricing costs 0 (pass `undefined`); negative token counts count as 0. */
export function costUsd(pricing: ModelPricing | undefined, usage: TokenUsage): number {
  if (!pricing) return 0;
  const p = Math.max(0, usage.promptTokens);
  const c = Math.max(0, usage.completionTokens);
  return (p * pricing.inputPerMillion + c * pricing.outputPerMillion) / 1_000_000;
}
