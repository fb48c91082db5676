/** One storm or one warm-reuse run, reduced to the numbers the report shows. */
import { percentile } from '../stats';
import { Wave } from './arrival';
import { Invocation, OK } from './protocol';
import { PatternRun } from './workers';

/**
 * Where the invocations connect: PostgreSQL itself (SCRAM, no TLS); PgBouncer
 * taking the password in cleartext over TLS, as RDS Proxy takes IAM tokens;
 * PgBouncer with SCRAM, which costs its single thread a PBKDF2 per login.
 */
export type Target = 'direct' | 'PgBouncer' | 'PgBouncer SCRAM';
export const TARGETS: readonly Target[] = ['direct', 'PgBouncer', 'PgBouncer SCRAM'];
/** Warm reuse isolates the cost of opening connections; the IAM-like PgBouncer stands for the proxy there. */
export const REUSE_TARGETS: readonly Target[] = ['direct', 'PgBouncer'];

export type ReusePattern = 'warm' | 'connection-per-invocation';
export const REUSE_PATTERNS: readonly ReusePattern[] = ['warm', 'connection-per-invocation'];

export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** One wave of a storm as it went. */
export interface WaveRun extends Wave {
  readonly successes: number;
  /** From the wave's arrival to the last response of any of its invocations. */
  readonly durationMillis: number;
}

export interface StormRun {
  readonly size: number;
  readonly target: Target;
  readonly round: number;
  readonly waves: readonly WaveRun[];
  readonly successes: number;
  /** Failed invocations by kind; successes plus these add up to `size`. */
  readonly errors: Readonly<Record<string, number>>;
  /** Of the successful invocations, from their wave's arrival to their response (none when nothing succeeded). */
  readonly latencyMillis?: LatencyPercentiles;
  /** From "go" to the last response of any invocation. */
  readonly durationMillis: number;
  /**
   * The time invocations were in flight: from each wave's arrival to its
   * last response, overlaps counted once, so the pauses between waves do
   * not count. Equal to `durationMillis` for a storm of one wave.
   */
  readonly activeMillis: number;
  /** Successes per second of `activeMillis`. */
  readonly throughput: number;
  /** CPU the server side (PostgreSQL, and PgBouncer when it is the target) spent from the start of the run until every connection closed. */
  readonly serverCpuMillis: number;
}

export interface ReuseRun {
  readonly pattern: ReusePattern;
  readonly target: Target;
  readonly round: number;
  readonly environments: number;
  readonly successes: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Of each successful call, from its start to its response. */
  readonly latencyMillis?: LatencyPercentiles;
  /** From "go" to the end of the last call. */
  readonly durationMillis: number;
  /** Successful invocations per second. */
  readonly invocationsPerSecond: number;
}

interface Tally {
  readonly successes: number;
  readonly errors: Record<string, number>;
  readonly latencyMillis?: LatencyPercentiles;
  readonly durationMillis: number;
}

export function stormRun(
  size: number, target: Target, round: number, waves: readonly Wave[], run: PatternRun, serverCpuMillis: number,
): StormRun {
  if (run.invocations.length !== size) throw new Error(`a storm of ${size} reported ${run.invocations.length} invocations`);
  const byWave = waves.map(() => [] as Invocation[]);
  for (const invocation of run.invocations) {
    // The latest wave that had arrived when the invocation started: the one it came with.
    const index = waves.filter(wave => run.goAt + wave.offsetMillis <= invocation.startedAt).length - 1;
    if (index < 0) throw new Error(`an invocation started ${run.goAt - invocation.startedAt} ms before "go"`);
    byWave[index].push(invocation);
  }
  const waveRuns = waves.map((wave, index): WaveRun => {
    if (byWave[index].length !== wave.environments) {
      throw new Error(`the wave at ${wave.offsetMillis} ms had ${wave.environments} environments but reported ${byWave[index].length} invocations`);
    }
    const arrivedAt = run.goAt + wave.offsetMillis;
    const { successes, durationMillis } = tallied({ goAt: arrivedAt, invocations: byWave[index] });
    return { ...wave, successes, durationMillis };
  });
  const tally = tallied(run);
  const activeMillis = unionLength(waveRuns.map(wave => [wave.offsetMillis, wave.offsetMillis + wave.durationMillis]));
  return { size, target, round, waves: waveRuns, ...tally, activeMillis, throughput: perSecond(tally.successes, activeMillis), serverCpuMillis };
}

export function reuseRun(pattern: ReusePattern, target: Target, round: number, environments: number, run: PatternRun): ReuseRun {
  const tally = tallied(run);
  return { pattern, target, round, environments, ...tally, invocationsPerSecond: perSecond(tally.successes, tally.durationMillis) };
}

function tallied(run: PatternRun): Tally {
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  let lastEnd = run.goAt;
  for (const invocation of run.invocations) {
    lastEnd = Math.max(lastEnd, invocation.endedAt);
    if (invocation.outcome === OK) latencies.push(invocation.latencyMillis);
    else errors[invocation.outcome] = (errors[invocation.outcome] ?? 0) + 1;
  }
  latencies.sort((a, b) => a - b);
  const latencyMillis = latencies.length === 0 ? undefined : { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) };
  return { successes: latencies.length, errors, ...(latencyMillis ? { latencyMillis } : {}), durationMillis: lastEnd - run.goAt };
}

/** The total length of `intervals` ([start, end] pairs, in order of their starts), overlaps counted once. */
function unionLength(intervals: ReadonlyArray<readonly [number, number]>): number {
  let total = 0;
  let coveredUntil = -Infinity;
  for (const [start, end] of intervals) {
    total += Math.max(0, end - Math.max(start, coveredUntil));
    coveredUntil = Math.max(coveredUntil, end);
  }
  return total;
}

function perSecond(count: number, millis: number): number {
  return millis > 0 ? count / (millis / 1000) : 0;
}
