/**
 * Benchmark part 2, the connection storm: N environments of the reference
 * API, all cold, fire GET /items against a PostgreSQL server with a small
 * max_connections, arriving as fast as Lambda scales a function (up to 1,000
 * at once, see arrival.ts), directly or through PgBouncer (the local stand-in
 * for RDS Proxy) sized the way ProxiedDatabase sizes the proxy pool, which
 * takes the password in cleartext over TLS as RDS Proxy takes IAM tokens (and,
 * beside it, with SCRAM). Each storm is compared with `pgbench --connect`
 * through the same target: throughput and the server's CPU per invocation.
 * Then warm reuse (one connection per environment) against a connection per
 * invocation, and pgbench with kept connections as their ceiling.
 */
import * as fs from 'fs';
import * as path from 'path';
import { startPgBouncer } from '../../test/support/pgbouncer';
import { PostgresServer, startPostgres } from '../../test/support/postgres';
import { prepareTmpRoot, TMP_ROOT } from '../../test/support/local-server';
import { LocalEndpoint, localSettings } from '../../test/support/settings';
import { Section } from '../section';
import { alternate } from '../stats';
import { LAMBDA_SCALING_RATE, ScalingRate, wavesOf } from './arrival';
import { BenchmarkDatabase, prepareDatabase } from './database';
import { processTreeCpuMillis } from './cpu';
import { REUSE_PATTERNS, REUSE_TARGETS, ReusePattern, reuseRun, ReuseRun, stormRun, StormRun, Target, TARGETS } from './measure';
import { PgbenchRun, requirePgbench, runPgbench } from './pgbench';
import { stormSection } from './report';
import { ConstructSizing, sizeFromConstructs } from './sizing';
import { createLoopbackCertificate, TlsFiles } from '../tls';
import { buildWorker, runPattern } from './workers';

export interface StormOptions {
  /** Cold environments per storm, one invocation each (default [100, 1000, 3000]). */
  readonly sizes?: readonly number[];
  /** How fast the environments of a storm arrive (default Lambda's: 1,000 every 10 s). */
  readonly scalingRate?: ScalingRate;
  /** The server's max_connections (default 100, about a db.t4g.micro). */
  readonly maxConnections?: number;
  /** Repetitions of each (size, variant), alternating direct and PgBouncer (default 3). */
  readonly rounds?: number;
  /** Seconds each warm-reuse measurement runs (default 10). */
  readonly warmSeconds?: number;
  /** Progress lines (default: nothing). */
  readonly log?: (line: string) => void;
}

/** The settings of one run, defaults filled in. */
export interface StormSettings {
  readonly sizes: readonly number[];
  readonly scalingRate: ScalingRate;
  readonly maxConnections: number;
  readonly rounds: number;
  readonly warmSeconds: number;
  /** pgbench runs as long as a warm-reuse measurement (whole seconds, its unit). */
  readonly pgbenchSeconds: number;
  readonly workerProcesses: number;
  /** Environments in each warm-reuse measurement: one per pooled server connection. */
  readonly reuseEnvironments: number;
}

export interface StormResults {
  readonly settings: StormSettings;
  readonly sizing: ConstructSizing;
  readonly storms: readonly StormRun[];
  readonly reuse: readonly ReuseRun[];
  /** pgbench directly on PostgreSQL with kept connections: the ceiling of warm reuse. */
  readonly pgbench: readonly PgbenchRun[];
  /** pgbench --connect through each target: the ceiling of a storm's work. */
  readonly pgbenchConnect: readonly PgbenchConnectRun[];
}

export interface PgbenchConnectRun extends PgbenchRun {
  readonly target: Target;
  /** CPU of the server side (as for a storm on that target) during the run. */
  readonly serverCpuMillis: number;
}

/** One target as a run uses it. */
interface TargetConnection {
  readonly endpoint: LocalEndpoint;
  readonly tls: boolean;
  /** CPU milliseconds the server side has spent so far: PostgreSQL's process tree, plus PgBouncer when it is the target. */
  serverCpuMillis(): number;
}

/** Two cores here: four processes keep both busy while the server and PgBouncer run beside them. */
const WORKER_PROCESSES = 4;
/** Sessions of a finished run normally leave within a second; far longer means something hangs. */
const IDLE_TIMEOUT_MILLIS = 30_000;

export async function runStorm(options: StormOptions = {}): Promise<Section> {
  const log = options.log ?? (() => undefined);
  const requested = validated(options);
  const sizing = sizeFromConstructs(requested.maxConnections);
  const settings: StormSettings = {
    ...requested,
    pgbenchSeconds: Math.max(1, Math.round(requested.warmSeconds)),
    workerProcesses: WORKER_PROCESSES,
    reuseEnvironments: sizing.poolSize,
  };
  log(`storm: construct sizing for max_connections ${sizing.maxConnections}: pool ${sizing.poolSize}, borrow timeout ${sizing.borrowTimeoutSeconds} s, `
    + `connect/query timeouts ${sizing.clientTimeouts.DATABASE_CONNECT_TIMEOUT_MS}/${sizing.clientTimeouts.DATABASE_QUERY_TIMEOUT_MS} ms, function timeout ${sizing.functionTimeoutMillis} ms`);

  prepareTmpRoot();
  const workDir = fs.mkdtempSync(path.join(TMP_ROOT, 'bench-storm-'));
  let postgres: PostgresServer | undefined;
  try {
    postgres = await startPostgres({ serverSettings: { max_connections: String(settings.maxConnections) } });
    const workerFile = await buildWorker(workDir);
    const database = await prepareDatabase(postgres, line => log(`storm: ${line}`));
    const results = await measureAll(settings, sizing, database, postgres, createLoopbackCertificate(workDir), workerFile, workDir, log);
    return stormSection(results);
  } finally {
    await postgres?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

async function measureAll(
  settings: StormSettings, sizing: ConstructSizing, database: BenchmarkDatabase, postgres: PostgresServer, tls: TlsFiles,
  workerFile: string, workDir: string, log: (line: string) => void,
): Promise<StormResults> {
  const functionTimeoutMillis = sizing.functionTimeoutMillis;
  const postgresCpu = () => processTreeCpuMillis(postgres.serverPid());

  /**
   * Runs `work` against `target` and waits until its sessions have left the
   * server. PgBouncer is started for the run and stopped after it, so its
   * idle pool never takes slots from a direct run.
   */
  async function onTarget<T>(target: Target, clients: number, work: (connection: TargetConnection) => Promise<T>): Promise<T> {
    const result = target === 'direct'
      ? await work({ endpoint: database.direct, tls: false, serverCpuMillis: postgresCpu })
      : await throughPgBouncer(target, clients, work);
    await database.waitUntilIdle(IDLE_TIMEOUT_MILLIS);
    return result;
  }

  async function throughPgBouncer<T>(target: Target, clients: number, work: (connection: TargetConnection) => Promise<T>): Promise<T> {
    const iamLike = target === 'PgBouncer';
    const bouncer = await startPgBouncer({
      target: database.direct,
      poolMode: 'transaction',
      defaultPoolSize: sizing.poolSize,
      queryWaitTimeoutSeconds: sizing.borrowTimeoutSeconds,
      // Every environment (each keeps its connection after its call), plus those reconnecting after a failure.
      maxClientConnections: 2 * clients + 100,
      ...iamLike ? { authType: 'plain', tls } : { authType: 'scram-sha-256' },
    });
    try {
      return await work({ endpoint: bouncer, tls: iamLike, serverCpuMillis: () => postgresCpu() + processTreeCpuMillis(bouncer.serverPid()) });
    } finally {
      await bouncer.stop();
    }
  }

  const patternOptions = (connection: TargetConnection) => ({
    settings: localSettings('postgresql', connection.endpoint, database.name, {
      ...sizing.clientTimeouts, ...connection.tls ? { DATABASE_TLS: 'verify' } : {},
    }),
    ...connection.tls ? { caCertificateFile: tls.certificateFile } : {},
    workers: settings.workerProcesses,
    functionTimeoutMillis,
  });

  const storms: StormRun[] = [];
  for (const size of settings.sizes) {
    const waves = wavesOf(size, settings.scalingRate);
    const bySize = await alternate(TARGETS, settings.rounds, (target, round) => onTarget(target, size, async connection => {
      const cpuBefore = connection.serverCpuMillis();
      const pattern = await runPattern(workerFile, { ...patternOptions(connection), pattern: 'storm', waves, durationMillis: 0 });
      const run = stormRun(size, target, round, waves, pattern, connection.serverCpuMillis() - cpuBefore);
      const byWave = run.waves.length > 1 ? ` (by wave: ${run.waves.map(wave => `${wave.successes}/${wave.environments} in ${Math.round(wave.durationMillis)} ms`).join(', ')})` : '';
      log(`storm: N = ${size}, ${target}, round ${round + 1}: ${run.successes}/${size} succeeded${byWave} in ${Math.round(run.durationMillis)} ms, `
        + `server CPU ${Math.round(run.serverCpuMillis)} ms${Object.entries(run.errors).map(([kind, count]) => `; ${count} × ${kind}`).join('')}`);
      return run;
    }));
    storms.push(...TARGETS.flatMap(target => bySize[target]));
  }

  const reuseVariants = REUSE_PATTERNS.flatMap(pattern => REUSE_TARGETS.map(target => `${pattern}:${target}` as const));
  const byReuseVariant = await alternate(reuseVariants, settings.rounds, (variant, round) => {
    const [pattern, target] = variant.split(':') as [ReusePattern, Target];
    return onTarget(target, settings.reuseEnvironments, async connection => {
      const run = reuseRun(pattern, target, round, settings.reuseEnvironments, await runPattern(workerFile, {
        ...patternOptions(connection),
        pattern,
        waves: [{ offsetMillis: 0, environments: settings.reuseEnvironments }],
        durationMillis: settings.warmSeconds * 1000,
      }));
      log(`storm: ${pattern}, ${target}, round ${round + 1}: ${Math.round(run.invocationsPerSecond)} invocations/s, ${sumOf(run.errors)} errors`);
      return run;
    });
  });
  const reuse = reuseVariants.flatMap(variant => byReuseVariant[variant]);

  const pgbenchBinary = requirePgbench();
  const pgbench: PgbenchRun[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const run = await runPgbench(pgbenchBinary, database.direct, database.name, sizing.poolSize, settings.pgbenchSeconds, workDir, { reconnect: false, tls: false });
    log(`storm: pgbench round ${round + 1}: ${Math.round(run.tps)} tps with ${run.clients} clients`);
    pgbench.push(run);
    await database.waitUntilIdle(IDLE_TIMEOUT_MILLIS);
  }

  const byConnectTarget = await alternate(TARGETS, settings.rounds, (target, round) => onTarget(target, sizing.poolSize, async connection => {
    const cpuBefore = connection.serverCpuMillis();
    const run = await runPgbench(pgbenchBinary, connection.endpoint, database.name, sizing.poolSize, settings.pgbenchSeconds, workDir, {
      reconnect: true, tls: connection.tls,
    });
    const connectRun: PgbenchConnectRun = { ...run, target, serverCpuMillis: connection.serverCpuMillis() - cpuBefore };
    log(`storm: pgbench --connect, ${target}, round ${round + 1}: ${Math.round(run.tps)} tps, server CPU ${Math.round(connectRun.serverCpuMillis)} ms`);
    return connectRun;
  }));
  const pgbenchConnect = TARGETS.flatMap(target => byConnectTarget[target]);

  return { settings, sizing, storms, reuse, pgbench, pgbenchConnect };
}

function validated(options: StormOptions): Pick<StormSettings, 'sizes' | 'scalingRate' | 'maxConnections' | 'rounds' | 'warmSeconds'> {
  const sizes = options.sizes ?? [100, 1000, 3000];
  const scalingRate = options.scalingRate ?? LAMBDA_SCALING_RATE;
  const maxConnections = options.maxConnections ?? 100;
  const rounds = options.rounds ?? 3;
  const warmSeconds = options.warmSeconds ?? 10;
  if (sizes.length === 0 || !sizes.every(size => Number.isInteger(size) && size >= 1)) {
    throw new Error(`sizes (${JSON.stringify(sizes)}) must be whole numbers of at least 1, and at least one of them`);
  }
  if (!Number.isInteger(scalingRate.environments) || scalingRate.environments < 1 || !(scalingRate.intervalMillis > 0)) {
    throw new Error(`scalingRate (${JSON.stringify(scalingRate)}) needs environments, a whole number of at least 1, and intervalMillis above 0`);
  }
  // Below 5 the 3 connections PostgreSQL reserves for superusers leave the app user none.
  if (!Number.isInteger(maxConnections) || maxConnections < 5) throw new Error(`maxConnections (${maxConnections}) must be a whole number of at least 5`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds (${rounds}) must be a whole number of at least 1`);
  if (!(warmSeconds > 0)) throw new Error(`warmSeconds (${warmSeconds}) must be above 0`);
  return { sizes, scalingRate, maxConnections, rounds, warmSeconds };
}

function sumOf(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}
