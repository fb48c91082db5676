/**
 * When the environments of a storm arrive. Lambda does not start any number
 * of environments of one function at one instant: its concurrency scaling
 * rate is 1,000 execution environment instances every 10 seconds per
 * function and Region, and requests beyond it are throttled (429) rather
 * than queued (Lambda developer guide, "Lambda scaling behavior",
 * https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html).
 * A storm of N therefore arrives in waves: the first min(N, 1,000)
 * environments at once, the next 1,000 ten seconds later, and so on. Each
 * wave arrives at one instant, the harshest arrival that rate allows (the
 * guide says Lambda refills the rate continuously in practice, which spreads
 * later environments out more).
 */
import { formatInteger } from '../stats';

export interface ScalingRate {
  /** Environments that arrive together in one wave. */
  readonly environments: number;
  /** Milliseconds from one wave to the next. */
  readonly intervalMillis: number;
}

/** Lambda's concurrency scaling rate for one function. */
export const LAMBDA_SCALING_RATE: ScalingRate = { environments: 1_000, intervalMillis: 10_000 };

/** One wave of a storm: how many environments arrive, and when (milliseconds after "go"). */
export interface Wave {
  readonly offsetMillis: number;
  readonly environments: number;
}

/** The waves of a storm of `size` environments: full waves of `rate.environments`, then what is left. */
export function wavesOf(size: number, rate: ScalingRate): Wave[] {
  const waves: Wave[] = [];
  for (let arrived = 0; arrived < size; arrived += rate.environments) {
    waves.push({ offsetMillis: waves.length * rate.intervalMillis, environments: Math.min(rate.environments, size - arrived) });
  }
  return waves;
}

/**
 * `total` spread over `parts` as evenly as possible, the first parts taking
 * one more when it does not divide.
 */
export function evenShares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0));
}

/** 'all at once', or '1,000 every 10 s (3 waves)'. */
export function describeArrival(size: number, rate: ScalingRate): string {
  const waves = wavesOf(size, rate).length;
  if (waves === 1) return 'all at once';
  return `${formatInteger(rate.environments)} every ${formatSeconds(rate.intervalMillis)} (${waves} waves)`;
}

function formatSeconds(millis: number): string {
  return `${Number((millis / 1000).toFixed(3))} s`;
}
