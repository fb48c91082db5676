/**
 * The synth benchmark (bench/synth): it really synthesizes the reference app
 * with and without checks and compares the assemblies byte for byte. Times
 * are reported, never asserted.
 */
import * as fs from 'fs';
import * as path from 'path';
import { compareFingerprints, fingerprint, runSynth } from '../bench/synth';
import { Section } from '../bench/section';
import { prepareTmpRoot, TMP_ROOT } from './support/local-server';

describe('runSynth with 1 run per variant (npm test not timed)', () => {
  let section: Section;
  const logged: string[] = [];

  beforeAll(async () => {
    section = await runSynth({ runs: 1, npmTest: false, log: line => logged.push(line) });
  }, 300_000);

  test('times both variants', () => {
    const raw = section.raw as { runs: Record<string, Array<{ totalMs: number; synthMs: number; maxRssKb: number }>> };
    expect(Object.keys(raw.runs)).toEqual(['with checks', 'without checks']);
    for (const runs of Object.values(raw.runs)) {
      expect(runs).toHaveLength(1);
      for (const run of runs) {
        expect(run.synthMs).toBeGreaterThan(0);
        expect(run.totalMs).toBeGreaterThan(run.synthMs);
        expect(run.maxRssKb).toBeGreaterThan(100 * 1024);
      }
    }
    // The order alternates between rounds: see alternate() in bench-report.test.ts.
    expect(logged.map(line => line.replace(/:.*/, ''))).toEqual(['synth with checks, round 1/1', 'synth without checks, round 1/1']);
  });

  test('finds the synths with and without checks of the unchanged app byte-identical: four templates, every asset', () => {
    const { determinism } = section.raw as { determinism: ReturnType<typeof compareFingerprints> };
    expect(determinism).toMatchObject({ synths: 2, templates: 4, differences: [] });
    // the layer and both functions at least, plus the custom resource handlers
    expect(determinism.assets).toBeGreaterThanOrEqual(5);
    expect(section.tables[1].rows[0][4]).toBe('none');
  });

  test('reports a row per variant, a chart and headlines, and no npm test row when not asked', () => {
    expect(section.tables.map(table => table.rows.length)).toEqual([2, 1]);
    expect(section.tables[0].rows.map(row => row[0])).toEqual(['with checks', 'without checks']);
    expect(section.charts[0].bars.map(bar => bar.series)).toEqual(['with checks', 'without checks']);
    expect(section.headlines.join('\n')).toMatch(/2 synths of the unchanged app gave byte-identical templates and assets \(4 templates/);
    expect(section.headlines.join('\n')).not.toContain('npm test');
  });
});

describe('assembly fingerprints', () => {
  let dir: string;

  beforeEach(() => {
    prepareTmpRoot();
    dir = fs.mkdtempSync(path.join(TMP_ROOT, 'fingerprint-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function assembly(name: string, files: Record<string, string>): string {
    const root = path.join(dir, name);
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    }
    return root;
  }

  test('a changed asset file, a missing template and an extra file are differences; the validation report is not compared', () => {
    const first = assembly('a', {
      'App.template.json': '{}', 'Other.template.json': '{}', 'asset.1/index.js': 'one', 'validation-report.json': 'run 1',
    });
    const second = assembly('b', {
      'App.template.json': '{}', 'asset.1/index.js': 'two', 'asset.2/index.js': 'new', 'validation-report.json': 'run 2',
    });
    const result = compareFingerprints([fingerprint(first), fingerprint(second)]);
    expect(result.differences).toEqual(['Other.template.json', path.join('asset.1', 'index.js'), path.join('asset.2', 'index.js')].sort());
    expect(result).toMatchObject({ synths: 2, templates: 2, assets: 1, filesCompared: 3 });
  });

  test('identical assemblies have no differences', () => {
    const files = { 'App.template.json': '{"a":1}', 'asset.1/index.js': 'code' };
    expect(compareFingerprints([fingerprint(assembly('a', files)), fingerprint(assembly('b', files))]).differences).toEqual([]);
  });

  test('needs two synths to compare', () => {
    expect(() => compareFingerprints([fingerprint(assembly('a', { 'x.json': '1' }))])).toThrow('at least two synths');
  });
});
