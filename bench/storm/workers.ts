/**
 * Runs simulated execution environments in worker processes (worker.ts) and
 * collects their invocations.
 *
 * The worker is bundled once with esbuild and run with plain node: each
 * storm starts fresh processes (new environments, as after a scale-out), and
 * a bundle starts in a fraction of the time tsx needs to compile the
 * runtime, Powertools and pg on every start; it is also the kind of
 * artefact Lambda runs.
 */
import { ChildProcess, fork } from 'child_process';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { build } from 'esbuild';
import type { DatabaseSettings } from '../../lambda/runtime';
import { evenShares, Wave } from './arrival';
import { Command, Invocation, InvocationPattern, Report } from './protocol';

export interface PatternOptions {
  readonly pattern: InvocationPattern;
  /**
   * The execution environments by wave (the back-to-back patterns have one
   * at "go"); each wave is spread evenly over the worker processes.
   */
  readonly waves: readonly Wave[];
  readonly workers: number;
  readonly settings: DatabaseSettings;
  readonly functionTimeoutMillis: number;
  /** For the back-to-back patterns: how long to keep calling. */
  readonly durationMillis: number;
  /** A certificate the workers trust besides Node's CA store (NODE_EXTRA_CA_CERTS), for a server with TLS. */
  readonly caCertificateFile?: string;
}

export interface PatternRun {
  /** When "go" was sent, as `performance.timeOrigin + performance.now()` (the clock of Invocation.endedAt). */
  readonly goAt: number;
  readonly invocations: readonly Invocation[];
}

/** Starting a process, loading the bundle and creating up to a few hundred environments. */
const READY_TIMEOUT_MILLIS = 30_000;
/** After the calls end: closing connections, then exiting. */
const EXIT_TIMEOUT_MILLIS = 10_000;
/** Room beyond the last deadline for the workers to report. */
const REPORT_MARGIN_MILLIS = 30_000;
const STDERR_TAIL_CHARS = 4_000;

/** Bundles worker.ts into `outDir` and returns the file to run. */
export async function buildWorker(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'storm-worker.js');
  await build({
    entryPoints: [path.join(__dirname, 'worker.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: ['pg-native'],
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * Starts the worker processes, waits until every environment exists, says
 * "go" to all of them at once, and returns every invocation once all have
 * ended. The processes are gone when it returns, also after an error.
 */
export async function runPattern(workerFile: string, options: PatternOptions): Promise<PatternRun> {
  const count = Math.min(options.workers, Math.max(...options.waves.map(wave => wave.environments)));
  const shares = options.waves.map(wave => evenShares(wave.environments, count));
  const workers = Array.from({ length: count }, () => new WorkerProcess(workerFile, options.caCertificateFile));
  try {
    let firstEnvironment = 0;
    await Promise.all(workers.map((worker, index) => {
      const waves = options.waves.map((wave, waveIndex) => ({ offsetMillis: wave.offsetMillis, environments: shares[waveIndex][index] }));
      const prepare: Command = {
        type: 'prepare',
        pattern: options.pattern,
        waves,
        firstEnvironment,
        settings: options.settings,
        functionTimeoutMillis: options.functionTimeoutMillis,
        durationMillis: options.durationMillis,
      };
      firstEnvironment += waves.reduce((total, wave) => total + wave.environments, 0);
      return worker.request(prepare, 'ready', READY_TIMEOUT_MILLIS);
    }));
    const goAt = performance.timeOrigin + performance.now();
    const lastArrivalMillis = Math.max(...options.waves.map(wave => wave.offsetMillis));
    const reportWithin = lastArrivalMillis + options.durationMillis + options.functionTimeoutMillis + REPORT_MARGIN_MILLIS;
    const reports = await Promise.all(workers.map(worker => worker.request({ type: 'go', goAt }, 'done', reportWithin)));
    await Promise.all(workers.map(worker => worker.close()));
    return { goAt, invocations: reports.flatMap(report => report.type === 'done' ? report.invocations : []) };
  } finally {
    for (const worker of workers) worker.kill();
  }
}

/** One forked worker with a queue of the reports it sent. */
class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly reports: Report[] = [];
  private waiting?: () => void;
  private readonly exited: Promise<void>;
  private exitDescription?: string;
  private stderrTail = '';

  constructor(file: string, caCertificateFile: string | undefined) {
    this.child = fork(file, [], {
      execArgv: [],
      // Powertools writes JSON logs: warnings and errors to stderr (kept for a crash report), metrics to stdout.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: workerEnvironment(caCertificateFile),
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    this.child.on('message', (report: Report) => {
      this.reports.push(report);
      this.waiting?.();
    });
    this.exited = new Promise(resolve => this.child.once('exit', (code, signal) => {
      this.exitDescription = `exited with ${signal ?? `code ${code}`}`;
      this.waiting?.();
      resolve();
    }));
  }

  /** Sends `command` and resolves with the next report, which must be of type `expected`. */
  async request(command: Command, expected: Report['type'], timeoutMillis: number): Promise<Report> {
    this.child.send(command);
    const deadline = Date.now() + timeoutMillis;
    while (this.reports.length === 0) {
      if (this.exitDescription) throw this.failure(`the storm worker ${this.exitDescription}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.failure(`the storm worker sent no ${expected} within ${timeoutMillis} ms`);
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, remaining);
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const report = this.reports.shift()!;
    if (report.type === 'failed') throw this.failure(`the storm worker failed: ${report.message}`);
    if (report.type !== expected) throw this.failure(`the storm worker sent ${report.type} where ${expected} was expected`);
    return report;
  }

  /** Asks the worker to close its connections and exit; kills it if it does not. */
  async close(): Promise<void> {
    if (this.exitDescription) return;
    this.child.send({ type: 'close' } satisfies Command);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise(resolve => { timer = setTimeout(resolve, EXIT_TIMEOUT_MILLIS); })]);
    clearTimeout(timer);
    this.kill();
  }

  kill(): void {
    if (!this.exitDescription) this.child.kill('SIGKILL');
  }

  private failure(message: string): Error {
    return new Error(this.stderrTail ? `${message}\n--- worker stderr (tail) ---\n${this.stderrTail}` : message);
  }
}

/**
 * The worker's environment: Powertools as in Lambda but quiet (warnings and
 * errors only), the extra CA certificate if any, and no
 * AWS_LAMBDA_FUNCTION_NAME, with which the runtime would refuse the local
 * password login.
 */
function workerEnvironment(caCertificateFile: string | undefined): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {
    ...process.env,
    POWERTOOLS_SERVICE_NAME: 'reference-api',
    POWERTOOLS_METRICS_NAMESPACE: 'BenchStorm',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    ...caCertificateFile ? { NODE_EXTRA_CA_CERTS: caCertificateFile } : {},
  };
  delete environment.AWS_LAMBDA_FUNCTION_NAME;
  return environment;
}
