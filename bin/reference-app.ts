import { App } from 'aws-cdk-lib';
import { addChecks } from './checks';
import { ReferenceApiStack } from './stacks/reference-api-stack';
import { ReferenceLayerStack } from './stacks/reference-layer-stack';
import { ReferenceMonitoringStack } from './stacks/reference-monitoring-stack';
import { ReferenceWorkerStack } from './stacks/reference-worker-stack';

/** The reference stacks, with every check attached. Used by `bin/app.ts` and by the tests. */
export function buildReferenceApp(app: App): {
  layer: ReferenceLayerStack; api: ReferenceApiStack; worker: ReferenceWorkerStack; monitoring: ReferenceMonitoringStack;
} {
  const layer = new ReferenceLayerStack(app, 'ReferenceLayer');
  const api = new ReferenceApiStack(app, 'ReferenceApi', { layer: layer.layer });
  const worker = new ReferenceWorkerStack(app, 'ReferenceWorker', { layer: layer.layer });
  const monitoring = new ReferenceMonitoringStack(app, 'ReferenceMonitoring', {
    databases: [api.database, worker.database],
    functions: [api.itemsFunction, worker.worker],
  });
  addChecks(app);
  return { layer, api, worker, monitoring };
}
