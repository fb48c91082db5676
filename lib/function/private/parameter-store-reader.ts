import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AssetStaging } from 'aws-cdk-lib';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { IConstruct } from 'constructs';

/**
 * The runtime's Parameter Store reader with its SSM client, bundled into one
 * file by `npm run build:handlers` (part of `npm run build`, and run by
 * cdk.json's app command). The path is the same from lib/function/private
 * (sources) and dist/function/private (compiled).
 */
export const PARAMETER_STORE_READER = path.join(__dirname, '..', '..', '..', 'dist', 'runtime', 'parameter-store.js');

/**
 * The function's command hooks plus one after bundling that copies the
 * Parameter Store reader next to index.js, where the runtime's
 * appParameters() loads it on first use: the handler's own bundle stays free
 * of the SSM client, and cold starts that do not read parameters never load it.
 */
export function withParameterStoreReader(scope: IConstruct, hooks: nodejs.ICommandHooks | undefined): nodejs.ICommandHooks {
  return {
    beforeBundling: (inputDir, outputDir) => hooks?.beforeBundling(inputDir, outputDir) ?? [],
    beforeInstall: (inputDir, outputDir) => hooks?.beforeInstall(inputDir, outputDir) ?? [],
    afterBundling: (inputDir, outputDir) => [...hooks?.afterBundling(inputDir, outputDir) ?? [], copyReaderCommand(scope, inputDir, outputDir)],
  };
}

function copyReaderCommand(scope: IConstruct, inputDir: string, outputDir: string): string {
  if (inputDir === AssetStaging.BUNDLING_INPUT_DIR) {
    // NodejsFunction prepares the Docker command even when it bundles locally: fail only if Docker bundling runs.
    return `echo "${scope.node.path}: a function with parameters needs the Parameter Store reader of cdk-serverless-rds copied next to its `
      + 'bundle, which Docker bundling cannot reach: install esbuild in the project (npm install --save-dev esbuild) and leave '
      + 'bundling.forceDockerBundling unset" >&2 && exit 1';
  }
  if (!fs.existsSync(PARAMETER_STORE_READER)) {
    throw new Error(`${scope.node.path}: the Parameter Store reader is missing at ${PARAMETER_STORE_READER}: run 'npm run build:handlers' in the cdk-serverless-rds package`);
  }
  const target = path.join(outputDir, path.basename(PARAMETER_STORE_READER));
  return os.platform() === 'win32' ? `copy /y "${PARAMETER_STORE_READER}" "${target}"` : `cp "${PARAMETER_STORE_READER}" "${target}"`;
}
