import { Spread } from './section';

/** Median, min and max of `values` (which must not be empty). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread() needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), min: sorted[0], max: sorted[sorted.length - 1], count: sorted.length };
}

/**
 * The p-th percentile (0 to 100) of `values` by linear interpolation between
 * the closest ranks, the method of numpy's default and of most dashboards.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile() needs at least one value');
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile must be from 0 to 100, not ${p}`);
  const sorted = isSorted(values) ? values : [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
}

/**
 * Runs `runs` rounds; each round calls `measure` once per variant, in an
 * order that rotates by one every round, so no variant always runs first
 * (after a cache warmed by another) or last. Returns the measurements of
 * each variant in round order.
 */
export async function alternate<V extends string, T>(
  variants: readonly V[],
  runs: number,
  measure: (variant: V, round: number) => Promise<T>,
): Promise<Record<V, T[]>> {
  const results = Object.fromEntries(variants.map(v => [v, [] as T[]])) as Record<V, T[]>;
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length];
      results[variant].push(await measure(variant, round));
    }
  }
  return results;
}

/** '12.3 ms (11.9–14.0)': a spread with `digits` decimals. */
export function formatSpread(value: Spread, unit: string, digits = 1): string {
  return `${value.median.toFixed(digits)} ${unit} (${value.min.toFixed(digits)}–${value.max.toFixed(digits)})`;
}

/** Three significant digits or more: '2.41×', '27.3×', '14,139×'. */
export function formatRatio(ratio: number): string {
  if (ratio >= 100) return `${formatInteger(ratio)}×`;
  return `${ratio.toFixed(ratio >= 10 ? 1 : 2)}×`;
}

/** '1,234,567' */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function isSorted(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) {
    if (values[i - 1] > values[i]) return false;
  }
  return true;
}
