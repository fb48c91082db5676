/** One storm or one warm-reuse run, reduced to the numbers the report shows. */
import { percentile } from '../stats';
import { OK } from './protocol';
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

export interface StormRun {
  readonly size: number;
  readonly target: Target;
  readonly round: number;
  readonly successes: number;
  /** Failed invocations by kind; successes plus these add up to `size`. */
  readonly errors: Readonly<Record<string, number>>;
  /** Of the successful invocations, from "go" to their response (none when nothing succeeded). */
  readonly latencyMillis?: LatencyPercentiles;
  /** From "go" to the last response of any invocation. */
  readonly durationMillis: number;
  /** Successes per second of `durationMillis`. */
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

export function stormRun(size: number, target: Target, round: number, run: PatternRun, serverCpuMillis: number): StormRun {
  if (run.invocations.length !== size) throw new Error(`a storm of ${size} reported ${run.invocations.length} invocations`);
  const tally = tallied(run);
  return { size, target, round, ...tally, throughput: perSecond(tally.successes, tally.durationMillis), serverCpuMillis };
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

function perSecond(count: number, millis: number): number {
  return millis > 0 ? count / (millis / 1000) : 0;
}
