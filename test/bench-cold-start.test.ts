/**
 * The cold-start benchmark, run end to end with two rounds: real bundles from
 * the constructs, real PostgreSQL and MariaDB, real probe processes whose
 * first query logs in with an IAM token the runtime signs. Checks what the
 * report claims about itself, never how fast anything was: benchmarks
 * report, tests do not assert speed.
 */
import * as fs from 'fs';
import { ColdStartRaw, runColdStart } from '../bench/cold-start';
import { DATABASE_USERS } from '../bench/cold-start/bundles';
import { Section } from '../bench/section';
import { formatRatio } from '../bench/stats';
import { TMP_ROOT } from './support/local-server';

const RUNS = 2;
const HANDLERS = ['reference-api', 'reference-worker'] as const;
const VARIANTS = ['DatabaseFunction', 'NodejsFunction defaults', 'DatabaseFunction + shared layer', 'hello world'] as const;

let section: Section;
let raw: ColdStartRaw;
const progress: string[] = [];
let workFoldersBefore: string[];

beforeAll(async () => {
  workFoldersBefore = coldStartFolders();
  // The database bootstrap logs each migration and user as a JSON line: keep the test output quiet.
  const quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    section = await runColdStart({ runs: RUNS, log: line => progress.push(line) });
  } finally {
    quiet.mockRestore();
  }
  raw = section.raw as ColdStartRaw;
}, 180_000);

function coldStartFolders(): string[] {
  return fs.existsSync(TMP_ROOT) ? fs.readdirSync(TMP_ROOT).filter(name => name.startsWith('cold-start-work-')) : [];
}

describe.each(HANDLERS)('%s', handler => {
  const variants = () => raw.handlers[handler].variants;

  test.each(VARIANTS)('%s: every round produced positive timings and a checked answer', variant => {
    const { samples } = variants()[variant];
    expect(samples).toHaveLength(RUNS);
    for (const sample of samples) {
      for (const value of [sample.ready, sample.load, sample.firstCall, sample.peakRssMb]) {
        expect(Number.isFinite(value) && value > 0).toBe(true);
      }
      expect(sample.load).toBeLessThan(sample.ready);
      expect(sample.firstQuery).toBeCloseTo(sample.ready + sample.firstCall, 6);
    }
  });

  test('the minified DatabaseFunction bundle is smaller than the NodejsFunction-default bundle', () => {
    expect(variants()['DatabaseFunction'].size.bundleBytes).toBeLessThan(variants()['NodejsFunction defaults'].size.bundleBytes);
  });

  test('the hello world is the smallest code and the smallest zip', () => {
    const floor = variants()['hello world'].size;
    for (const variant of VARIANTS.filter(v => v !== 'hello world')) {
      expect(variants()[variant].size.codeBytes).toBeGreaterThan(floor.codeBytes);
      expect(variants()[variant].size.zippedBytes).toBeGreaterThan(floor.zippedBytes);
    }
  });

  test('only DatabaseFunction bundles carry a source map, and only the layer variant counts a layer', () => {
    const sizes = VARIANTS.map(variant => [variant, variants()[variant].size.sourceMapBytes > 0, variants()[variant].size.layerBytes > 0]);
    expect(sizes).toEqual([
      ['DatabaseFunction', true, false],
      ['NodejsFunction defaults', false, false],
      ['DatabaseFunction + shared layer', true, true],
      ['hello world', false, false],
    ]);
  });

  test('the self-contained bundles load one file; the others load their externals from NODE_PATH', () => {
    expect(variants()['DatabaseFunction'].modules.max).toBe(1);
    expect(variants()['hello world'].modules.max).toBe(1);
    expect(variants()['NodejsFunction defaults'].modules.min).toBeGreaterThan(1);
    expect(variants()['DatabaseFunction + shared layer'].modules.min).toBeGreaterThan(1);
  });

  test('every first query but the floor\'s logged in with a token the verifier checked, and none was refused', () => {
    const databaseVariants = VARIANTS.filter(variant => variant !== 'hello world').length;
    expect(raw.handlers[handler].logins).toEqual({ accepted: { [DATABASE_USERS[handler]]: RUNS * databaseVariants }, refused: [] });
  });

  test('ratios are each median (or size) divided by the floor\'s', () => {
    const floor = variants()['hello world'];
    for (const variant of VARIANTS) {
      const { ratios, ready, firstQuery, size } = variants()[variant];
      expect(ratios.ready).toBeCloseTo(ready.median / floor.ready.median, 10);
      expect(ratios.firstQuery).toBeCloseTo(firstQuery.median / floor.firstQuery.median, 10);
      expect(ratios.codeBytes).toBeCloseTo(size.codeBytes / floor.size.codeBytes, 10);
      expect(ratios.zippedBytes).toBeCloseTo(size.zippedBytes / floor.size.zippedBytes, 10);
    }
    expect(floor.ratios).toEqual({ ready: 1, firstQuery: 1, codeBytes: 1, zippedBytes: 1 });
  });

  test('its table has one row per variant, with as many cells as headers', () => {
    const table = section.tables.find(t => t.caption.startsWith(`${handler}:`));
    expect(table?.rows.map(row => row[0])).toEqual([...VARIANTS]);
    for (const row of table!.rows) expect(row).toHaveLength(table!.headers.length);
  });

  test('the headline states its ready ratios as in the table', () => {
    const headline = section.headlines.find(line => line.startsWith(`${handler}:`));
    const ready = (variant: typeof VARIANTS[number]) => formatRatio(variants()[variant].ratios.ready);
    expect(headline).toContain(`ready ${ready('DatabaseFunction')} the hello-world floor with DatabaseFunction bundling, `
      + `${ready('NodejsFunction defaults')} with NodejsFunction defaults, ${ready('DatabaseFunction + shared layer')} with the shared layer`);
  });
});

test('the section carries its id, one table per handler and a bar per handler and variant in each chart', () => {
  expect(section.id).toBe('cold-start');
  expect(section.tables).toHaveLength(HANDLERS.length);
  expect(section.charts.map(chart => chart.id)).toEqual(['cold-start-ready', 'cold-start-first-query', 'cold-start-size']);
  for (const chart of section.charts) {
    expect(chart.bars.map(bar => `${bar.group}/${bar.series}`)).toEqual(HANDLERS.flatMap(h => VARIANTS.map(v => `${h}/${v}`)));
  }
  expect(section.headlines.length).toBeGreaterThanOrEqual(2);
  expect(section.headlines.length).toBeLessThanOrEqual(4);
});

test('the method says the worker is measured against MariaDB, and how the first query logs in on each server', () => {
  expect(section.method).toMatch(/MariaDB/);
  expect(section.method).toContain('sends it as a cleartext password inside verified TLS; no SCRAM');
  expect(section.method).toContain('`ldap` method');
  expect(section.method).toContain('`mysql_clear_password`');
});

test('reports progress through the log option', () => {
  expect(progress.some(line => line.includes('reference-worker'))).toBe(true);
});

test('removes its work folder (the cloud assembly) when done', () => {
  expect(coldStartFolders()).toEqual(workFoldersBefore);
});

test('rejects a run count below 1 before starting anything', async () => {
  await expect(runColdStart({ runs: 0 })).rejects.toThrow(/runs must be a whole number of at least 1, not 0/);
});
