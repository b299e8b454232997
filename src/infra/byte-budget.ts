/**
 * An async bound on bytes held at once: `use(bytes, fn)` waits (first come, first served) until the bytes fit, runs
 * fn, and gives them back. One claim larger than the whole budget runs alone rather than never. Hand-written: it is a
 * dozen lines of shared state, and a semaphore library would be counting units, not weights.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; start: () => void }> = [];

  constructor(readonly limit: number) {}

  async use<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    await this.acquire(bytes);
    try {
      return await fn();
    } finally {
      this.release(bytes);
    }
  }

  /** Bytes held right now (for tests and metrics). */
  inUse(): number {
    return this.used;
  }

  private acquire(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return Promise.resolve();
    }
    return new Promise((start) => this.waiting.push({ bytes, start }));
  }

  private release(bytes: number): void {
    this.used -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.start();
    }
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }
}
