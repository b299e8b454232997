/**
 * A seeded random source for chaos tests: the seed comes from CHAOS_SEED (to replay a failure) or the clock, and is
 * printed, so a failing run can be repeated exactly.
 */
export function seededRandom(label: string): { seed: number; next(): number; between(min: number, max: number): number } {
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
  console.log(`${label}: seed ${seed} (replay with CHAOS_SEED=${seed})`);
  let a = seed >>> 0;
  // mulberry32: tiny, good enough to spread kill times.
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, between: (min, max) => Math.floor(min + next() * (max - min)) };
}
