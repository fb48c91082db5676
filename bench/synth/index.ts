/**
 * Part 3: how long the reference app takes to synthesize with and without
 * the checks, its peak memory, whether two synths give the same bytes, and
 * how long `npm test` takes.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT, prepareTmpRoot, TMP_ROOT } from '../../test/support/local-server';
import { Section, Spread } from '../section';
import { alternate, formatRatio, formatSpread, spread } from '../stats';

export interface SynthOptions {
  /** Synths per variant, alternating with and without checks (default 5, at least 1: the two variants' synths are compared too). */
  readonly runs?: number;
  /** Also time one `npm test` run (default true). */
  readonly npmTest?: boolean;
  /** Progress lines (default: nothing). */
  readonly log?: (line: string) => void;
}

const VARIANTS = ['with checks', 'without checks'] as const;
type Variant = typeof VARIANTS[number];

/** What one synth reported (see synth-child.ts). */
interface SynthRun {
  /** Process start to synth done: what a user waits for, without the CDK CLI. */
  readonly totalMs: number;
  /** Building the stacks and app.synth(), after the modules loaded. */
  readonly synthMs: number;
  readonly maxRssKb: number;
}

/** The files of a cloud assembly whose bytes must not change between synths of the same app. */
export interface AssemblyFingerprint {
  /** File name to SHA-256 of its content: templates, asset manifests, the manifest, and each file inside the asset folders. */
  readonly files: Readonly<Record<string, string>>;
}

export interface DeterminismResult {
  readonly synths: number;
  readonly templates: number;
  readonly assets: number;
  readonly filesCompared: number;
  /** Files that differ from the first synth, or exist in one synth only. */
  readonly differences: readonly string[];
}

export interface NpmTestResult {
  readonly wallMs: number;
  readonly exitCode: number | null;
  /** Jest's summary lines, e.g. 'Tests: 900 passed, 900 total'. */
  readonly summary: readonly string[];
}

const CHILD = path.join(__dirname, 'synth-child.ts');
/** Differs between every synth by design: it records when and how long the validation ran. */
const NOT_COMPARED = new Set(['validation-report.json', 'cdk.out']);

export async function runSynth(options: SynthOptions = {}): Promise<Section> {
  const runs = options.runs ?? 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a whole number of at least 1, not ${runs}`);
  const log = options.log ?? (() => undefined);
  prepareTmpRoot();
  const workDir = fs.mkdtempSync(path.join(TMP_ROOT, 'bench-synth-'));
  try {
    const fingerprints: AssemblyFingerprint[] = [];
    const results = await alternate<Variant, SynthRun>(VARIANTS, runs, async (variant, round) => {
      const outdir = path.join(workDir, `${round}-${variant.replace(/ /g, '-')}`);
      const run = await synthOnce(outdir, variant === 'with checks');
      log(`synth ${variant}, round ${round + 1}/${runs}: ${(run.totalMs / 1000).toFixed(1)} s, ${Math.round(run.maxRssKb / 1024)} MB`);
      fingerprints.push(fingerprint(outdir));
      fs.rmSync(outdir, { recursive: true, force: true });
      return run;
    });
    const determinism = compareFingerprints(fingerprints);
    const npmTest = (options.npmTest ?? true) ? await timeNpmTest(log) : undefined;
    return section(results, determinism, npmTest);
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

function synthOnce(outdir: string, checks: boolean): Promise<SynthRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, outdir, String(checks)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', chunk => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', chunk => { stderr += chunk; });
    child.once('error', reject);
    child.once('close', code => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`synth ${checks ? 'with' : 'without'} checks exited with ${code}:\n${stderr.slice(-4000)}`));
        return;
      }
      resolve(JSON.parse(line));
    });
  });
}

/** SHA-256 of every file of the assembly that must be reproducible. */
export function fingerprint(outdir: string): AssemblyFingerprint {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(outdir, full);
      if (dir === outdir && NOT_COMPARED.has(entry.name)) continue;
      if (entry.isDirectory()) walk(full);
      else files[relative] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(outdir);
  return { files };
}

/** Compares every synth with the first one. */
export function compareFingerprints(fingerprints: readonly AssemblyFingerprint[]): DeterminismResult {
  if (fingerprints.length < 2) throw new Error('compareFingerprints needs at least two synths');
  const [first, ...others] = fingerprints;
  const differences = new Set<string>();
  for (const other of others) {
    for (const name of new Set([...Object.keys(first.files), ...Object.keys(other.files)])) {
      if (first.files[name] !== other.files[name]) differences.add(name);
    }
  }
  const names = Object.keys(first.files);
  return {
    synths: fingerprints.length,
    templates: names.filter(name => name.endsWith('.template.json')).length,
    assets: new Set(names.filter(name => name.startsWith('asset.')).map(name => name.split(path.sep)[0])).size,
    filesCompared: names.length,
    differences: [...differences].sort(),
  };
}

function timeNpmTest(log: (line: string) => void): Promise<NpmTestResult> {
  log('npm test: running (several minutes)');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['test'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: string) => { output = (output + chunk).slice(-20_000); };
    child.stdout.setEncoding('utf8').on('data', collect);
    child.stderr.setEncoding('utf8').on('data', collect);
    child.once('error', reject);
    child.once('close', exitCode => {
      const wallMs = performance.now() - started;
      const summary = output.split('\n').map(line => line.trim().replace(/\s+/g, ' ')).filter(line => /^(Test Suites|Tests):/.test(line));
      log(`npm test: exit ${exitCode} after ${(wallMs / 1000).toFixed(0)} s; ${summary.join('; ')}`);
      resolve({ wallMs, exitCode, summary });
    });
  });
}

function section(results: Record<Variant, SynthRun[]>, determinism: DeterminismResult, npmTest: NpmTestResult | undefined): Section {
  const total = (variant: Variant) => spread(results[variant].map(run => run.totalMs / 1000));
  const synth = (variant: Variant) => spread(results[variant].map(run => run.synthMs / 1000));
  const memory = (variant: Variant) => spread(results[variant].map(run => run.maxRssKb / 1024));
  const checksCost = total('with checks').median / total('without checks').median;
  const identical = determinism.differences.length === 0;
  const runs = results['with checks'].length;

  const headlines = [
    `Synth of the reference app (4 stacks, both functions bundled, the layer built): ${total('with checks').median.toFixed(1)} s with every check, `
    + `${total('without checks').median.toFixed(1)} s without (the checks cost ${formatRatio(checksCost)}); peak memory ${memory('with checks').median.toFixed(0)} MB.`,
    identical
      ? `${determinism.synths} synths of the unchanged app gave byte-identical templates and assets (${determinism.templates} templates, ${determinism.assets} assets, ${determinism.filesCompared} files).`
      : `${determinism.synths} synths of the unchanged app differed in ${determinism.differences.length} files: ${determinism.differences.slice(0, 5).join(', ')}.`,
  ];
  if (npmTest) {
    headlines.push(`npm test: ${formatMinutes(npmTest.wallMs)} (${npmTest.summary.join('; ') || 'no Jest summary'}), exit code ${npmTest.exitCode}.`);
  }

  const row = (variant: Variant) => [variant, formatSpread(total(variant), 's'), formatSpread(synth(variant), 's'), formatSpread(memory(variant), 'MB', 0)];
  const tables = [
    {
      caption: `Synth of the whole reference app in a fresh Node process, ${runs} runs per variant alternating, each into a new output folder (nothing cached).`,
      headers: ['Variant', 'Process start to synth done', 'Building the stacks and synth()', 'Peak memory (VmHWM)'],
      rows: VARIANTS.map(row),
    },
    {
      caption: 'Every synth above compared file by file (SHA-256) with the first one: templates, asset manifests, the manifest, the construct tree and every file of every asset folder.',
      headers: ['Synths', 'Templates', 'Asset folders', 'Files compared', 'Files that differ'],
      rows: [[String(determinism.synths), String(determinism.templates), String(determinism.assets), String(determinism.filesCompared),
        identical ? 'none' : determinism.differences.join(', ')]],
    },
  ];
  if (npmTest) {
    tables.push({
      caption: '`npm test` once: type-check, jsii build, handler bundles and every Jest suite (real PostgreSQL, MariaDB and PgBouncer).',
      headers: ['Wall time', 'Exit code', 'Jest summary'],
      rows: [[formatMinutes(npmTest.wallMs), String(npmTest.exitCode), npmTest.summary.join('; ')]],
    });
  }

  return {
    id: 'synth',
    title: 'Synth and test',
    method: [
      '`bench/synth/synth-child.ts` builds the reference app (`buildReferenceApp`, the same function `bin/app.ts` calls) with the context of `cdk.json` in a new `node --import tsx` process and synthesizes it. '
      + '"With checks" attaches every validation plugin (cdk-nag AwsSolutions, Serverless, HIPAA, NIST 800-53 R5, PCI DSS, our RdsProxy pack and the Control Tower guard rules); aws-cdk-lib\'s own CloudFormation rules run in both variants, as they run at every synth.',
      'Each synth writes into a new folder, so esbuild bundles both functions and npm installs the layer every time. The peak memory is the synth process\'s own high-water mark of resident memory (VmHWM in `/proc/self/status`; `process.resourceUsage().maxRSS` would carry over the peak of the process that spawned it); '
      + 'the cfn-guard binary that the Control Tower rules run in a child process is not included. The CDK CLI (`npm run synth`) adds its own start-up on top of these times.',
    ].join('\n\n'),
    tables,
    charts: [
      {
        id: 'synth-time',
        title: 'Synth of the reference app (process start to synth done)',
        unit: 's',
        bars: VARIANTS.map(variant => ({ group: 'reference app', series: variant, ...pick(total(variant)) })),
      },
    ],
    headlines,
    raw: { runs: results, determinism, npmTest },
  };
}

function pick(value: Spread): { median: number; min: number; max: number } {
  return { median: value.median, min: value.min, max: value.max };
}

function formatMinutes(millis: number): string {
  const seconds = Math.round(millis / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
