/**
 * Synthesizes the reference app once, in this process, and prints one JSON
 * line: how long it took and the peak memory of the process (VmHWM). Run by
 * bench/synth as `node --import tsx bench/synth/synth-child.ts <outdir> <checks>`.
 */
import { performance } from 'perf_hooks';
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { buildReferenceApp } from '../../bin/reference-app';
import { peakResidentKb } from '../peak-memory';

const [outdir, checks] = process.argv.slice(2);
if (!outdir || (checks !== 'true' && checks !== 'false')) {
  throw new Error('usage: synth-child.ts <outdir> <true|false>');
}

const modulesLoadedMs = performance.now();
const context = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;
const app = new App({ outdir, context });
buildReferenceApp(app, { checks: checks === 'true' });
app.synth();
const doneMs = performance.now();

process.stdout.write(JSON.stringify({
  totalMs: doneMs,
  synthMs: doneMs - modulesLoadedMs,
  maxRssKb: peakResidentKb(),
}) + '\n');
