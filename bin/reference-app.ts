import { App } from 'aws-cdk-lib';
import { addChecks } from './checks';
import { ReferenceApiStack } from './stacks/reference-api-stack';
import { ReferenceLayerStack } from './stacks/reference-layer-stack';
import { ReferenceMonitoringStack } from './stacks/reference-monitoring-stack';
import { ReferenceWorkerStack } from './stacks/reference-worker-stack';

export interface ReferenceAppOptions {
  /**
   * A suffix for every stack name (`ReferenceApi-<stage>`), so that a second
   * copy of the app (staging next to production, a developer's own) deploys
   * into the same account and Region beside the first.
   *
   * @default - no suffix: ReferenceLayer, ReferenceApi, ReferenceWorker, ReferenceMonitoring
   */
  readonly stage?: string;

  /**
   * Attach every check (the cdk-nag packs, RdsProxyChecks and the Control
   * Tower rules). Off only to measure what the checks cost (bench/).
   *
   * @default true
   */
  readonly checks?: boolean;
}

/** The reference stacks, with every check attached. Used by `bin/app.ts`, the tests and the benchmarks. */
export function buildReferenceApp(app: App, options: ReferenceAppOptions = {}): {
  layer: ReferenceLayerStack; api: ReferenceApiStack; worker: ReferenceWorkerStack; monitoring: ReferenceMonitoringStack;
} {
  const name = (stack: string) => (options.stage ? `${stack}-${options.stage}` : stack);
  const layer = new ReferenceLayerStack(app, name('ReferenceLayer'));
  const api = new ReferenceApiStack(app, name('ReferenceApi'), { layer: layer.layer });
  const worker = new ReferenceWorkerStack(app, name('ReferenceWorker'), { layer: layer.layer });
  const monitoring = new ReferenceMonitoringStack(app, name('ReferenceMonitoring'), {
    databases: [api.database, worker.database],
    functions: [api.itemsFunction, worker.worker],
  });
  if (options.checks ?? true) {
    addChecks(app);
  }
  return { layer, api, worker, monitoring };
}
