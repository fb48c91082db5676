/**
 * The connection-storm benchmark on a tiny scale: a real PostgreSQL with
 * max_connections 10, PgBouncer sized by the construct (cleartext password
 * over TLS, and SCRAM), 30 concurrent handler invocations. It checks what the
 * storm must show (direct loses invocations to "too many clients", PgBouncer
 * serves all), that every invocation is counted once and that the server's
 * CPU is measured; it asserts nothing about speed.
 */
import { runStorm } from '../bench/storm';
import type { StormResults } from '../bench/storm';
import { Section } from '../bench/section';

const SIZE = 30;
const MAX_CONNECTIONS = 10;

let section: Section;
let results: StormResults;

beforeAll(async () => {
  section = await runStorm({ sizes: [SIZE], maxConnections: MAX_CONNECTIONS, rounds: 1, warmSeconds: 1 });
  results = section.raw as StormResults;
}, 240_000);

const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((total, count) => total + count, 0);

test('takes the pool size from the construct: 70% of max_connections 10 is 7, with its borrow timeout and client timeouts', () => {
  expect(results.sizing).toEqual({
    maxConnections: MAX_CONNECTIONS,
    poolSize: 7,
    borrowTimeoutSeconds: 5,
    functionTimeoutMillis: 10_000,
    clientTimeouts: { DATABASE_CONNECT_TIMEOUT_MS: '3000', DATABASE_QUERY_TIMEOUT_MS: '6000' },
  });
  expect(results.settings.reuseEnvironments).toBe(7);
});

test('direct connections lose invocations to too many clients (503, SQLSTATE 53300)', () => {
  const [direct] = results.storms.filter(run => run.target === 'direct');
  expect(direct.successes).toBeGreaterThan(0);
  expect(direct.successes).toBeLessThan(SIZE);
  expect(direct.errors['503 too many clients (53300)']).toBeGreaterThan(0);
});

test('PgBouncer sized like the proxy pool serves all 30 invocations, with the cleartext password over verified TLS and with SCRAM', () => {
  for (const target of ['PgBouncer', 'PgBouncer SCRAM']) {
    const [pooled] = results.storms.filter(run => run.target === target);
    expect(pooled).toMatchObject({ successes: SIZE, errors: {} });
    expect(pooled.latencyMillis!.p50).toBeGreaterThan(0);
    expect(pooled.throughput).toBeGreaterThan(0);
  }
});

test('every storm counts each invocation exactly once and measures the server\'s CPU', () => {
  expect(results.storms.map(run => run.target).sort()).toEqual(['PgBouncer', 'PgBouncer SCRAM', 'direct']);
  for (const run of results.storms) {
    expect(run.successes + sum(run.errors)).toBe(SIZE);
    expect(run.serverCpuMillis).toBeGreaterThan(0);
  }
});

test('warm reuse and a connection per invocation serve calls direct and through PgBouncer; pgbench reports a rate, with --connect per target', () => {
  expect(results.reuse.map(run => `${run.pattern} ${run.target}`).sort()).toEqual([
    'connection-per-invocation PgBouncer', 'connection-per-invocation direct', 'warm PgBouncer', 'warm direct',
  ]);
  for (const run of results.reuse) {
    expect(run.environments).toBe(7);
    expect(run.successes).toBeGreaterThan(0);
    expect(run.invocationsPerSecond).toBeGreaterThan(0);
  }
  expect(results.pgbench).toHaveLength(1);
  expect(results.pgbench[0]).toMatchObject({ reconnect: false, clients: 7, seconds: 1 });
  expect(results.pgbench[0].tps).toBeGreaterThan(0);
  expect(results.pgbenchConnect.map(run => run.target).sort()).toEqual(['PgBouncer', 'PgBouncer SCRAM', 'direct']);
  for (const run of results.pgbenchConnect) {
    expect(run).toMatchObject({ reconnect: true, clients: 7, seconds: 1 });
    expect(run.tps).toBeGreaterThan(0);
    expect(run.serverCpuMillis).toBeGreaterThan(0);
  }
});

test('the section has a storm row per target, a warm-reuse row per target and pattern, the pgbench rows, and the charts', () => {
  expect(section.id).toBe('storm');
  const [storm, reuse, pgbench] = section.tables;
  expect(storm.rows.map(row => row.slice(0, 3))).toEqual([
    ['30', 'direct', expect.stringMatching(/^\d+ of 30$/)], ['30', 'PgBouncer, cleartext over TLS', '30 of 30'], ['30', 'PgBouncer, SCRAM', '30 of 30'],
  ]);
  expect(storm.rows[0][3]).toMatch(/503 too many clients \(53300\): \d+/);
  expect(storm.rows[1].slice(8)).toEqual([expect.stringMatching(/^\d+\.\d+$/), expect.stringMatching(/ ms \(/), expect.stringMatching(/×$/)]);
  expect(reuse.rows.map(row => row.slice(0, 2))).toEqual([
    ['direct', 'warm'], ['direct', 'connection per invocation'], ['PgBouncer, cleartext over TLS', 'warm'], ['PgBouncer, cleartext over TLS', 'connection per invocation'],
  ]);
  expect(reuse.rows[0][6]).toMatch(/^\d[\d,.]*×$/);
  expect(pgbench.rows.map(row => row.slice(0, 2))).toEqual([
    ['kept', 'direct'], ['new per transaction', 'direct'], ['new per transaction', 'PgBouncer, cleartext over TLS'], ['new per transaction', 'PgBouncer, SCRAM'],
  ]);
  expect(section.charts.map(chart => chart.id)).toEqual(['storm-success', 'storm-throughput', 'warm-reuse']);
  expect(section.charts[0].bars.map(bar => [bar.group, bar.series])).toEqual([
    ['N = 30', 'direct'], ['N = 30', 'PgBouncer, cleartext over TLS'], ['N = 30', 'PgBouncer, SCRAM'],
  ]);
  expect(section.headlines[0]).toMatch(/^N = 30: 30\/30 succeeded through PgBouncer taking the password in cleartext over TLS \(as RDS Proxy takes IAM tokens\), 30 with SCRAM, \d+ direct/);
});

test('the storm refuses options it cannot run, naming the option', async () => {
  await expect(runStorm({ sizes: [] })).rejects.toThrow(/sizes/);
  await expect(runStorm({ rounds: 0 })).rejects.toThrow(/rounds \(0\)/);
  await expect(runStorm({ maxConnections: 2 })).rejects.toThrow(/maxConnections \(2\)/);
});
