/**
 * The connection-storm benchmark on a tiny scale: a real PostgreSQL with
 * max_connections 10, PgBouncer sized by the construct (cleartext password
 * over TLS, and SCRAM), 30 handler invocations arriving in waves as Lambda
 * scales (here 12 every 1.5 s, so the last wave holds the rest). It checks
 * what the storm must show (direct loses invocations to "too many clients",
 * PgBouncer serves all), that every invocation is counted once, in the wave
 * it arrived with, and that the server's CPU is measured; it asserts nothing
 * about speed. The arrival model itself is checked on plain numbers.
 */
import { runStorm } from '../bench/storm';
import type { StormResults } from '../bench/storm';
import { describeArrival, evenShares, LAMBDA_SCALING_RATE, wavesOf } from '../bench/storm/arrival';
import { stormRun } from '../bench/storm/measure';
import { Section } from '../bench/section';

const SIZE = 30;
const MAX_CONNECTIONS = 10;
const SCALING_RATE = { environments: 12, intervalMillis: 1_500 };
const WAVES = [{ offsetMillis: 0, environments: 12 }, { offsetMillis: 1_500, environments: 12 }, { offsetMillis: 3_000, environments: 6 }];

describe('the arrival model', () => {
  test('Lambda\'s scaling rate is 1,000 environments every 10 s', () => {
    expect(LAMBDA_SCALING_RATE).toEqual({ environments: 1_000, intervalMillis: 10_000 });
  });

  test('a storm of up to one wave arrives all at once: N = 100 and N = 1,000 stay comparable with earlier runs', () => {
    expect(wavesOf(100, LAMBDA_SCALING_RATE)).toEqual([{ offsetMillis: 0, environments: 100 }]);
    expect(wavesOf(1_000, LAMBDA_SCALING_RATE)).toEqual([{ offsetMillis: 0, environments: 1_000 }]);
    expect(describeArrival(1_000, LAMBDA_SCALING_RATE)).toBe('all at once');
  });

  test('N = 3,000 arrives in three waves of 1,000, 10 s apart; a remainder arrives in a last, smaller wave', () => {
    expect(wavesOf(3_000, LAMBDA_SCALING_RATE)).toEqual([
      { offsetMillis: 0, environments: 1_000 }, { offsetMillis: 10_000, environments: 1_000 }, { offsetMillis: 20_000, environments: 1_000 },
    ]);
    expect(describeArrival(3_000, LAMBDA_SCALING_RATE)).toBe('1,000 every 10 s (3 waves)');
    expect(wavesOf(2_500, LAMBDA_SCALING_RATE).map(wave => wave.environments)).toEqual([1_000, 1_000, 500]);
    expect(wavesOf(SIZE, SCALING_RATE)).toEqual(WAVES);
    expect(describeArrival(SIZE, SCALING_RATE)).toBe('12 every 1.5 s (3 waves)');
  });

  test('each wave is spread evenly over the worker processes', () => {
    expect(evenShares(1_000, 4)).toEqual([250, 250, 250, 250]);
    expect(evenShares(6, 4)).toEqual([2, 2, 1, 1]);
    expect(evenShares(3, 4)).toEqual([1, 1, 1, 0]);
  });

  test('a storm counts each invocation in the wave it arrived with, and its throughput leaves out the pauses between waves', () => {
    const goAt = 1_000_000;
    const call = (offset: number, latency: number, outcome = 'ok') => ({ outcome, startedAt: goAt + offset, latencyMillis: latency, endedAt: goAt + offset + latency });
    const waves = [{ offsetMillis: 0, environments: 2 }, { offsetMillis: 1_000, environments: 1 }];
    const run = stormRun(3, 'PgBouncer', 0, waves, { goAt, invocations: [call(0, 200), call(0, 100, '503 connect timeout'), call(1_000, 300)] }, 12);
    expect(run.waves).toEqual([
      { offsetMillis: 0, environments: 2, successes: 1, durationMillis: 200 },
      { offsetMillis: 1_000, environments: 1, successes: 1, durationMillis: 300 },
    ]);
    expect(run).toMatchObject({ successes: 2, errors: { '503 connect timeout': 1 }, durationMillis: 1_300, activeMillis: 500, throughput: 4, serverCpuMillis: 12 });
  });

  test('a storm whose waves overlap counts the overlap once', () => {
    const goAt = 0;
    const call = (offset: number, latency: number) => ({ outcome: 'ok', startedAt: goAt + offset, latencyMillis: latency, endedAt: goAt + offset + latency });
    const waves = [{ offsetMillis: 0, environments: 1 }, { offsetMillis: 1_000, environments: 1 }];
    const run = stormRun(2, 'direct', 0, waves, { goAt, invocations: [call(0, 1_500), call(1_000, 1_000)] }, 1);
    expect(run).toMatchObject({ durationMillis: 2_000, activeMillis: 2_000, throughput: 1 });
  });

  test('a storm refuses a wave that reports another number of invocations than arrived with it', () => {
    const call = { outcome: 'ok', startedAt: 1_000, latencyMillis: 1, endedAt: 1_001 };
    expect(() => stormRun(1, 'direct', 0, [{ offsetMillis: 0, environments: 1 }, { offsetMillis: 1, environments: 0 }], { goAt: 0, invocations: [call] }, 1))
      .toThrow('the wave at 0 ms had 1 environments but reported 0 invocations');
  });
});

describe('a storm against real PostgreSQL and PgBouncer', () => {
  let section: Section;
  let results: StormResults;

  beforeAll(async () => {
    section = await runStorm({ sizes: [SIZE], scalingRate: SCALING_RATE, maxConnections: MAX_CONNECTIONS, rounds: 1, warmSeconds: 1 });
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

  test('every storm arrived in the waves of its scaling rate, each invocation starting with its wave', () => {
    expect(results.settings.scalingRate).toEqual(SCALING_RATE);
    for (const run of results.storms) {
      // stormRun files each invocation under the latest wave that had arrived when it started, and throws when a wave's count differs.
      expect(run.waves.map(({ offsetMillis, environments }) => ({ offsetMillis, environments }))).toEqual(WAVES);
      expect(run.waves.reduce((total, wave) => total + wave.successes, 0)).toBe(run.successes);
      expect(run.durationMillis).toBeGreaterThan(WAVES[2].offsetMillis);
      expect(run.activeMillis).toBeLessThanOrEqual(run.durationMillis);
      expect(run.activeMillis).toBeGreaterThanOrEqual(Math.max(...run.waves.map(wave => wave.durationMillis)));
    }
    const [pooled] = results.storms.filter(run => run.target === 'PgBouncer');
    expect(pooled.waves.map(wave => wave.successes)).toEqual([12, 12, 6]);
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
    const arrival = '12 every 1.5 s (3 waves)';
    expect(storm.caption).toContain('waves of 12 every 1.5 s');
    expect(storm.rows.map(row => row.slice(0, 4))).toEqual([
      ['30', arrival, 'direct', expect.stringMatching(/^\d+ of 30$/)],
      ['30', arrival, 'PgBouncer, cleartext over TLS', '30 of 30'],
      ['30', arrival, 'PgBouncer, SCRAM', '30 of 30'],
    ]);
    expect(storm.rows[0][4]).toMatch(/503 too many clients \(53300\): \d+/);
    expect(storm.rows[1].slice(9)).toEqual([expect.stringMatching(/^\d+\.\d+$/), expect.stringMatching(/ ms \(/), expect.stringMatching(/×$/)]);
    expect(reuse.rows.map(row => row.slice(0, 2))).toEqual([
      ['direct', 'warm'], ['direct', 'connection per invocation'], ['PgBouncer, cleartext over TLS', 'warm'], ['PgBouncer, cleartext over TLS', 'connection per invocation'],
    ]);
    expect(reuse.rows[0][6]).toMatch(/^\d[\d,.]*×$/);
    expect(pgbench.rows.map(row => row.slice(0, 2))).toEqual([
      ['kept', 'direct'], ['new per transaction', 'direct'], ['new per transaction', 'PgBouncer, cleartext over TLS'], ['new per transaction', 'PgBouncer, SCRAM'],
    ]);
    expect(section.charts.map(chart => chart.id)).toEqual(['storm-success', 'storm-throughput', 'warm-reuse']);
    expect(section.charts[0].bars.map(bar => [bar.group, bar.series])).toEqual([
      [`N = 30, ${arrival}`, 'direct'], [`N = 30, ${arrival}`, 'PgBouncer, cleartext over TLS'], [`N = 30, ${arrival}`, 'PgBouncer, SCRAM'],
    ]);
    expect(section.method).toContain('waves of 12 every 1.5 s (this run\'s rate; Lambda\'s is 1,000 every 10 s)');
    expect(section.headlines[0]).toMatch(/^N = 30, 12 every 1\.5 s \(3 waves\): 30\/30 succeeded through PgBouncer taking the password in cleartext over TLS \(as RDS Proxy takes IAM tokens\), 30 with SCRAM, \d+ direct/);
  });

  test('the storm refuses options it cannot run, naming the option', async () => {
    await expect(runStorm({ sizes: [] })).rejects.toThrow(/sizes/);
    await expect(runStorm({ rounds: 0 })).rejects.toThrow(/rounds \(0\)/);
    await expect(runStorm({ maxConnections: 2 })).rejects.toThrow(/maxConnections \(2\)/);
    await expect(runStorm({ scalingRate: { environments: 0, intervalMillis: 10_000 } }))
      .rejects.toThrow('scalingRate ({"environments":0,"intervalMillis":10000}) needs environments, a whole number of at least 1, and intervalMillis above 0');
  });
});
