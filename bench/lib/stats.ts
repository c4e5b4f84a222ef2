/** Median of the finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Smallest and largest finite values, for showing the spread behind a median. */
export function range(values: readonly number[]): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [Number.NaN, Number.NaN];
  return [Math.min(...finite), Math.max(...finite)];
}

/** Bucket width in milliseconds: 10 µs, well below the 2 ms the p99 target talks about. */
const BUCKET_MS = 0.01;
/** Latencies up to 2 s get a bucket; slower ones are kept exactly (rare, and capped). */
const BUCKETS = 200_000;
const MAX_SLOW_SAMPLES = 100_000;

/**
 * A fixed-size latency histogram. autocannon's own histogram has a resolution of 1 ms, too
 * coarse for a handler that takes about 1 ms and for a 2 ms budget on p99.
 */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private readonly slow: number[] = [];
  private total = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.total += 1;
    const bucket = Math.floor(ms / BUCKET_MS);
    if (bucket < BUCKETS) this.counts[bucket]! += 1;
    else if (this.slow.length < MAX_SLOW_SAMPLES) this.slow.push(ms);
    // Past the cap only the count is kept: a percentile that lands there reports Infinity.
  }

  get count(): number {
    return this.total;
  }

  /** The latency below which `fraction` of the samples fall (bucket midpoint), in ms. */
  percentile(fraction: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return (i + 0.5) * BUCKET_MS;
    }
    const slow = [...this.slow].sort((x, y) => x - y);
    return slow[rank - seen - 1] ?? Number.POSITIVE_INFINITY;
  }
}
