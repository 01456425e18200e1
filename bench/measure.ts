/** Timing helpers shared by the benchmarks. */

export interface Measurement {
  ops: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Runs `op(i)` for i in [0, count) with `concurrency` calls in flight, timing each call.
 * Returns throughput over the whole run and latency percentiles per call.
 */
export async function measure(count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Measurement> {
  const latencies = new Float64Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const start = process.hrtime.bigint();
      await op(i);
      latencies[i] = Number(process.hrtime.bigint() - start) / 1e6;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort();
  return {
    ops: count,
    seconds,
    perSecond: count / seconds,
    p50Ms: latencies[Math.floor(count * 0.5)]!,
    p99Ms: latencies[Math.min(count - 1, Math.floor(count * 0.99))]!,
  };
}

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

/** Deterministic pseudo-random numbers (mulberry32), so runs pick the same conversations. */
export function random(seed = 42): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The value after `flag` in a benchmark's arguments (`--backend sqlite`), if any. */
export function optionOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}
