/**
 * Checks a promise like "every replica honours a key change within `boundMs`" without timing assertions that flake on
 * a loaded machine: polls `probe` and fails only if a probe SENT more than `boundMs` after the change still answers the
 * old way. Slow round trips just mean fewer probes; the bound itself is never stretched.
 */
export async function holdsWithin(
  what: string,
  changedAt: number,
  boundMs: number,
  probe: () => Promise<boolean>,
  intervalMs = 50,
): Promise<void> {
  for (;;) {
    const sentAt = Date.now();
    if (await probe()) return;
    if (sentAt - changedAt > boundMs)
      throw new Error(`${what}: a request sent ${sentAt - changedAt} ms after the change still saw the old state`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
