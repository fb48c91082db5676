/**
 * One cold start: a fresh `node` process (probe.js) that loads a bundle,
 * calls its handler once with a real event against the local database, and
 * reports its timings.
 */
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as path from 'path';
import { listItemsEvent } from '../events';
import { Bundle, FLOOR, HandlerName, Variant } from './bundles';

/** What one probe process measured. */
export interface Sample {
  /** Milliseconds from process start until require() of the bundle returned: the local analogue of Lambda's Init duration. */
  readonly ready: number;
  /** Milliseconds of the require() alone. */
  readonly load: number;
  /** Milliseconds of the first handler call (first connection and first query). */
  readonly firstCall: number;
  /** ready + firstCall: milliseconds from process start until the first query's answer. */
  readonly firstQuery: number;
  /** Peak resident memory in MB. */
  readonly peakRssMb: number;
  /** Files the process required (the bundle, and whatever it loads from NODE_PATH). */
  readonly modules: number;
}

interface ProbeReport {
  readonly error?: string;
  readonly ready: number;
  readonly load: number;
  readonly firstCall: number;
  readonly maxRssKb: number;
  readonly modules: number;
  readonly response: unknown;
}

const PROBE = path.join(__dirname, 'probe.js');
/** A probe that takes longer is stuck (a connection that never answers); its sample is useless. */
const PROBE_TIMEOUT_MILLIS = 30_000;
const OUTPUT_TAIL_CHARS = 2_000;

/**
 * Runs one probe of `bundle` for `handler`, with the bundle's synthesized
 * environment and `appEnvironment` (the local database) over it, and checks
 * the handler's answer: timing a failing handler would be meaningless.
 */
export async function measureColdStart(
  handler: HandlerName, variant: Variant, bundle: Bundle, appEnvironment: Readonly<Record<string, string>>,
): Promise<Sample> {
  const roots = [bundle.codeDirectory, ...bundle.modulePath ? [bundle.modulePath] : []];
  const request = { file: path.join(bundle.codeDirectory, bundle.handlerFile), handlerExport: bundle.handlerExport, roots, event: firstEvent(handler) };
  const report = await runProbe(JSON.stringify(request), {
    ...bundle.environment,
    ...appEnvironment,
    ...bundle.modulePath ? { NODE_PATH: bundle.modulePath } : {},
  });
  const problem = responseProblem(variant === FLOOR || handler === 'reference-api' ? 'http' : 'order', report.response);
  if (problem) throw new Error(`${handler} (${variant}, ${bundle.codeDirectory}) answered its first event wrongly: ${problem}`);
  return {
    ready: report.ready,
    load: report.load,
    firstCall: report.firstCall,
    firstQuery: report.ready + report.firstCall,
    peakRssMb: report.maxRssKb / 1024,
    modules: report.modules,
  };
}

/** GET /items for the API (HTTP API payload 2.0); a new OrderPlaced event for the worker, so each sample inserts a row. */
function firstEvent(handler: HandlerName): unknown {
  if (handler === 'reference-api') {
    return listItemsEvent(`cold-start-${randomBytes(6).toString('hex')}`, 'cold-start-bench');
  }
  return {
    'version': '0',
    'id': `cold-start-${randomBytes(8).toString('hex')}`,
    'detail-type': 'OrderPlaced',
    'source': 'cdk-serverless-rds.reference',
    'account': '123456789012',
    'time': '2026-11-20T10:00:00Z',
    'region': 'eu-west-1',
    'resources': [],
    'detail': { orderId: `cold-start-${randomBytes(8).toString('hex')}`, customerId: 'customer_42', amountCents: 1999, currency: 'EUR' },
  };
}

/**
 * Why `response` is not a success answer (`http`: an HTTP response with status 200; `order`: the
 * worker's result for a newly recorded order); undefined when it is one.
 */
function responseProblem(expected: 'http' | 'order', response: unknown): string | undefined {
  const answer = response as { statusCode?: unknown; status?: unknown } | undefined;
  if (expected === 'http') {
    return answer?.statusCode === 200 ? undefined : `status code ${String(answer?.statusCode)}, expected 200`;
  }
  return answer?.status === 'recorded' ? undefined : `status '${String(answer?.status)}', expected 'recorded'`;
}

function runProbe(request: string, env: Record<string, string>): Promise<ProbeReport> {
  return new Promise((resolve, reject) => {
    // Only the function's environment: nothing of this process (NODE_OPTIONS, TMPDIR) leaks into the sample.
    const child = spawn(process.execPath, [PROBE, request], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let output = '';
    let reported = '';
    const keep = (chunk: Buffer) => { output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.stdio[3]!.on('data', (chunk: Buffer) => { reported += chunk.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MILLIS);
    child.once('error', error => { clearTimeout(timer); reject(error); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const report = parseReport(reported);
      if (code === 0 && report && !report.error) {
        resolve(report);
        return;
      }
      const reason = report?.error ?? (signal ? `killed by ${signal} (timeout ${PROBE_TIMEOUT_MILLIS} ms)` : `exit code ${code}`);
      reject(new Error(`the cold-start probe failed: ${reason}\n--- probe output ---\n${output}`));
    });
  });
}

function parseReport(text: string): ProbeReport | undefined {
  try {
    return JSON.parse(text) as ProbeReport;
  } catch {
    return undefined;
  }
}
