/**
 * Token buckets that pace sends so that the sender does not provoke the provider's own rate limits (WhatsApp's
 * 130429 per number and 131056 per recipient pair): `reserve` takes a token and says how long to wait for it.
 * In-process: each instance of a fleet paces alone, so N instances may together send N times the rate.
 */
export class Pacer {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Ms to wait before the send this reserves may go; `perSecond` refills, `burst` is the bucket's size. */
  reserve(key: string, perSecond: number, burst: number, now: number): number {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.prune(now);
      this.buckets.set(key, (b = { tokens: burst, at: now }));
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    b.tokens -= 1;
    return b.tokens >= 0 ? 0 : Math.ceil((-b.tokens / perSecond) * 1000);
  }

  /** Gives back a reservation not used (the send was put off). */
  giveBack(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens += 1;
  }

  private prune(now: number): void {
    for (const [key, b] of this.buckets) if (now - b.at > 3_600_000) this.buckets.delete(key);
  }
}
