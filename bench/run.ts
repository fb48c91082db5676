/**
 * `npm run bench`: runs the benchmarks on this machine, writes
 * bench/results/ (results.json and one SVG per chart) and BENCHMARKS.md,
 * and prints the summary.
 *
 *   npm run bench                      every part
 *   npm run bench -- --only storm      some parts (comma-separated ids); the
 *                                      other sections of the report are kept
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runColdStart } from './cold-start';
import { requireLambdaNode } from '../test/support/lambda-node';
import { describeMachine } from './machine';
import { MeasuredSection, renderReport, Results, SECTION_ORDER } from './report/markdown';
import { renderBarChart } from './report/svg';
import { Section } from './section';
import { runStorm } from './storm';
import { runSynth } from './synth';

const ROOT = path.join(__dirname, '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const RESULTS_FILE = path.join(RESULTS_DIR, 'results.json');
const REPORT_FILE = path.join(ROOT, 'BENCHMARKS.md');

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const PARTS: Record<string, () => Promise<Section>> = {
  'cold-start': () => runColdStart({ log }),
  'storm': () => runStorm({ log }),
  'synth': () => runSynth({ log }),
};

async function main(): Promise<void> {
  // The cold-start probes and the storm's workers run with this process's Node.js: the one Lambda runs.
  requireLambdaNode('The benchmarks');
  const only = parseOnly(process.argv.slice(2));
  const previous = only.length < SECTION_ORDER.length ? readResults() : { sections: [] };
  const commit = currentCommit();
  const machine = describeMachine();

  const measured: MeasuredSection[] = [];
  for (const id of only) {
    const started = Date.now();
    log(`${id}: starting`);
    const section = await PARTS[id]();
    log(`${id}: done in ${Math.round((Date.now() - started) / 1000)} s`);
    measured.push({ measuredAt: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', commit, machine, section });
  }

  const results: Results = {
    sections: [...previous.sections.filter(kept => !only.includes(kept.section.id)), ...measured],
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  for (const file of fs.readdirSync(RESULTS_DIR).filter(name => name.endsWith('.svg'))) {
    fs.rmSync(path.join(RESULTS_DIR, file));
  }
  for (const chart of results.sections.flatMap(({ section }) => section.charts)) {
    fs.writeFileSync(path.join(RESULTS_DIR, `${chart.id}.svg`), renderBarChart(chart));
  }
  fs.writeFileSync(RESULTS_FILE, JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(REPORT_FILE, renderReport(results, id => `bench/results/${id}.svg`));

  process.stdout.write(['', 'Benchmark summary (details in BENCHMARKS.md):', ...measured.flatMap(({ section }) => section.headlines.map(line => `- ${line}`)), ''].join('\n'));
}

function parseOnly(args: string[]): string[] {
  if (args.length === 0) return [...SECTION_ORDER];
  if (args.length !== 2 || args[0] !== '--only') {
    throw new Error(`usage: npm run bench [-- --only ${SECTION_ORDER.join(',')}]; got: ${args.join(' ')}`);
  }
  const ids = args[1].split(',').map(id => id.trim()).filter(Boolean);
  const unknown = ids.filter(id => !(id in PARTS));
  if (unknown.length > 0 || ids.length === 0) {
    throw new Error(`--only takes benchmark ids out of ${SECTION_ORDER.join(', ')}; unknown: ${unknown.join(', ') || '(none given)'}`);
  }
  return SECTION_ORDER.filter(id => ids.includes(id));
}

function readResults(): Results {
  return fs.existsSync(RESULTS_FILE) ? JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8')) as Results : { sections: [] };
}

function currentCommit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${hash} (with uncommitted changes)` : hash;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

main().catch(error => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
