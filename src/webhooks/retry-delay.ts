const MAX_RETRY_MS = 3_600_000;

/**
 * The wait before a webhook delivery's next attempt after `attempts` failed ones: doubling from `baseMs` up to an
 * hour, then ±25% jitter so that endpoints failing together do not retry together.
 */
export function retryDelay(attempts: number, baseMs: number, random: () => number = Math.random): number {
  return Math.min(MAX_RETRY_MS, baseMs * 2 ** Math.min(attempts - 1, 20)) * (0.75 + random() * 0.5);
}
