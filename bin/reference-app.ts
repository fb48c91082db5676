import { App } from 'aws-cdk-lib';
import { addChecks } from './checks';
import { ReferenceApiStack } from './stacks/reference-api-stack';

/** The reference stacks, with every check attached. Used by `bin/app.ts` and by the tests. */
export function buildReferenceApp(app: App): { api: ReferenceApiStack } {
  const api = new ReferenceApiStack(app, 'ReferenceApi');
  addChecks(app);
  return { api };
}
