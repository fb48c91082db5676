/**
 * Cold start of the reference handlers (issue 6, part 1): bundle sizes,
 * module initialisation in a fresh Node process and time to first query
 * against a local database, for DatabaseFunction's bundling, NodejsFunction's
 * defaults and the shared layer, each as a ratio to a hello-world floor.
 */
import * as fs from 'fs';
import * as path from 'path';
import { prepareTmpRoot, TMP_ROOT } from '../../test/support/local-server';
import { describeMachine } from '../machine';
import { Section } from '../section';
import { alternate } from '../stats';
import { buildBundles, byVariant, HANDLERS, HandlerName, VARIANTS } from './bundles';
import { BenchDatabase, startDatabase } from './databases';
import { measureColdStart } from './measure';
import { coldStartSection, HandlerResults } from './report';
import { bundleSize, cachedZippedSize } from './sizes';

export type { Bundle, HandlerName, Variant } from './bundles';
export type { Sample } from './measure';
export type { ColdStartRaw, HandlerReport, VariantReport } from './report';
export type { BundleSize } from './sizes';

export interface ColdStartOptions {
  /** Fresh processes per variant (default 20; the issue requires at least 20 for the report). */
  readonly runs?: number;
  /** Progress lines (default: nothing). The runner passes a function that writes to stderr. */
  readonly log?: (line: string) => void;
}

const DEFAULT_RUNS = 20;

/**
 * Synthesizes the bench app, starts PostgreSQL and MariaDB, runs `runs`
 * rounds of fresh processes per handler with the variants alternating, and
 * stops and deletes everything again, also when something fails.
 */
export async function runColdStart(options: ColdStartOptions = {}): Promise<Section> {
  const runs = options.runs ?? DEFAULT_RUNS;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a whole number of at least 1, not ${runs}`);
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  prepareTmpRoot();
  const workDirectory = fs.mkdtempSync(path.join(TMP_ROOT, 'cold-start-work-'));
  // Started first: the servers boot while the synthesis below keeps this process busy.
  const starting = HANDLERS.map(handler => startDatabase(handler, log));
  try {
    log('cold-start: synthesizing the bench app (esbuild bundles and the shared layer)');
    const bundles = buildBundles(path.join(workDirectory, 'cdk.out'));
    const databases = await allStarted(starting);
    const zippedSize = cachedZippedSize();
    const results = {} as Record<HandlerName, HandlerResults>;
    for (const [index, handler] of HANDLERS.entries()) {
      log(`cold-start: ${handler}, ${runs} rounds of ${VARIANTS.length} fresh processes`);
      const samples = await alternate(VARIANTS, runs, async (variant, round) => {
        if (variant === VARIANTS[0] && (round + 1) % 5 === 0) log(`cold-start: ${handler} round ${round + 1}/${runs}`);
        return measureColdStart(handler, variant, bundles[handler][variant], databases[index].environment).catch(error => {
          const refused = databases[index].logins().refused;
          throw refused.length === 0 ? error : new Error(`${error instanceof Error ? error.message : String(error)}\nlogins the token verifier refused: ${refused.join('; ')}`);
        });
      });
      results[handler] = {
        samples,
        sizes: byVariant(variant => bundleSize(bundles[handler][variant], zippedSize)),
        logins: databases[index].logins(),
      };
    }
    return coldStartSection(results, { runs, wallTimeSeconds: (Date.now() - started) / 1000, machine: describeMachine() });
  } finally {
    await Promise.allSettled(starting.map(async database => (await database).stop()));
    fs.rmSync(workDirectory, { recursive: true, force: true });
  }
}

/** The started databases, in order; if any failed to start, the error (the finally block above stops the others). */
async function allStarted(starting: Array<Promise<BenchDatabase>>): Promise<BenchDatabase[]> {
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map(result => (result as PromiseFulfilledResult<BenchDatabase>).value);
}
