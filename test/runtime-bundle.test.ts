/**
 * What a handler's bundle takes from the published runtime (dist/runtime,
 * CommonJS compiled by tsc, as consumers get it through the package's
 * exports): only what the handler uses. Each consumer is bundled with esbuild
 * the way DatabaseFunction bundles, its inputs are checked, and it runs in a
 * fresh Node process that can load no package at all, as a Lambda function
 * whose bundle is all it has.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { build } from 'esbuild';
import { runIsolated } from './support/isolated-node';
import { HOST, prepareTmpRoot, PROJECT_ROOT, TMP_ROOT } from './support/local-server';

/** Packages only some handlers need: none may reach a handler that does not use them. */
const OPTIONAL_PACKAGES = [
  '@aws-lambda-powertools/logger', '@aws-lambda-powertools/metrics', '@aws-lambda-powertools/tracer', '@aws-lambda-powertools/parameters',
  '@aws-sdk/client-ssm', '@aws-sdk/credential-provider-node', '@aws-sdk/rds-signer', 'aws-xray-sdk-core', 'mysql2',
];
const ENVIRONMENT = {
  DATABASE_HOST: 'my-proxy.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com', DATABASE_PORT: '5432', DATABASE_NAME: 'app', DATABASE_USER: 'app_user',
  DATABASE_ENGINE: 'postgresql', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'items', POWERTOOLS_METRICS_NAMESPACE: 'Bundle',
};
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session' };

let work: string;
let packageDir: string;

beforeAll(() => {
  prepareTmpRoot();
  work = fs.mkdtempSync(path.join(TMP_ROOT, 'runtime-bundle-'));
  packageDir = publishRuntime(path.join(work, 'node_modules', 'cdk-serverless-rds'));
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The runtime as the package ships it: tsc's CommonJS plus the pre-bundled reader, with the package's exports. */
function publishRuntime(directory: string): string {
  const runtimeDir = path.join(directory, 'dist', 'runtime');
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.runtime.json', '--outDir', runtimeDir], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  const scripts = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  const reader = spawnSync(require.resolve('esbuild/bin/esbuild'), [
    ...readerBuildArguments(scripts.scripts['build:handlers']), `--outfile=${path.join(runtimeDir, 'parameter-store.js')}`,
  ], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (reader.status !== 0) throw new Error(`esbuild failed:\n${reader.stdout}${reader.stderr}`);
  fs.writeFileSync(path.join(directory, 'package.json'), JSON.stringify({ name: scripts.name, exports: scripts.exports }));
  return directory;
}

/** The esbuild arguments of the reader in `npm run build:handlers`, without its output file. */
function readerBuildArguments(script: string): string[] {
  const command = script.split('&&').map(part => part.trim()).find(part => part.startsWith('esbuild lambda/runtime/parameter-store.ts '));
  if (!command) throw new Error(`build:handlers has no esbuild command for the reader: ${script}`);
  return command.split(/\s+/).slice(1).filter(argument => !argument.startsWith('--outfile='));
}

/** Bundles `source` as DatabaseFunction does (minified, module main fields, pg-native external); returns the file and its inputs. */
async function bundle(name: string, source: string): Promise<{ file: string; inputs: string[] }> {
  const directory = path.join(work, name);
  fs.mkdirSync(directory, { recursive: true });
  const entry = path.join(work, `${name}.ts`);
  fs.writeFileSync(entry, source);
  const file = path.join(directory, 'index.js');
  const result = await build({
    entryPoints: [entry], outfile: file, bundle: true, platform: 'node', target: 'node24', format: 'cjs', minify: true,
    mainFields: ['module', 'main'], external: ['pg-native'], metafile: true, logLevel: 'silent',
  });
  return { file, inputs: Object.keys(result.metafile.inputs) };
}

/** Packages in `inputs` (esbuild's input paths), by name. */
function packagesOf(inputs: string[]): string[] {
  return [...new Set(inputs.flatMap(input => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    return match && match[1] !== 'cdk-serverless-rds' ? [match[1]] : [];
  }))].sort();
}

describe('a handler that uses only the database client and the error classes', () => {
  let consumer: { file: string; inputs: string[] };

  beforeAll(async () => {
    consumer = await bundle('database-only', `
      import { DatabaseUnavailableError, passwordSourceFor, processQueueBatch, settingsFromEnvironment } from 'cdk-serverless-rds/runtime';
      import { postgresDatabase } from 'cdk-serverless-rds/runtime/postgres';
      export const database = postgresDatabase();
      export const token = () => passwordSourceFor(settingsFromEnvironment())();
      export { DatabaseUnavailableError, processQueueBatch };
    `);
  });

  test('bundles pg, the signer and nothing optional', () => {
    const packages = packagesOf(consumer.inputs);
    expect(packages).toEqual(expect.arrayContaining(['pg', '@smithy/signature-v4', '@smithy/core']));
    expect(packages.filter(name => OPTIONAL_PACKAGES.includes(name))).toEqual([]);
  });

  test('runs from its bundle alone: signs a token with the credentials of the environment', async () => {
    const { result, error, loaded } = await runIsolated(consumer.file, 'module.token()', { ...ENVIRONMENT, ...CREDENTIALS });
    expect(error).toBeUndefined();
    expect(String(result)).toMatch(new RegExp(`^${ENVIRONMENT.DATABASE_HOST}:5432/\\?Action=connect&DBUser=app_user&X-Amz-Algorithm=AWS4-HMAC-SHA256&`));
    expect(loaded).toEqual([consumer.file]);
  });

  test('without credentials in the environment, names the credential chain package it would need', async () => {
    const { error } = await runIsolated(consumer.file, 'module.token()', ENVIRONMENT);
    expect(error).toBe('SettingsError: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, so the IAM authentication token needs the AWS SDK\'s '
      + 'credential chain, and @aws-sdk/credential-provider-node is not installed: install it next to cdk-serverless-rds, or set the variables '
      + '(Lambda sets them for the execution role)');
  });
});

describe('a handler with logs, metrics and app parameters (the reference API\'s imports)', () => {
  let consumer: { file: string; inputs: string[] };
  let ssm: http.Server;
  let endpoint: string;

  beforeAll(async () => {
    consumer = await bundle('observed', `
      import { appParameters } from 'cdk-serverless-rds/runtime';
      import { instrumentHandler, observability } from 'cdk-serverless-rds/runtime/observability';
      import { postgresDatabase } from 'cdk-serverless-rds/runtime/postgres';
      const tools = observability();
      export const database = postgresDatabase({ logger: tools.logger });
      export const handler = instrumentHandler(tools, async () => appParameters());
    `);
    ssm = http.createServer((request, response) => {
      request.resume().on('end', () => {
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ Parameters: [{ Name: '/app/prod/max-limit', Type: 'String', Value: '50' }] }));
      });
    });
    endpoint = await new Promise<string>(resolve => ssm.listen(0, HOST, () => resolve(`http://${HOST}:${(ssm.address() as net.AddressInfo).port}`)));
  });

  afterAll(() => new Promise(resolve => ssm.close(resolve)));

  const invoke = 'module.handler({}, { functionName: "items", awsRequestId: "r1", getRemainingTimeInMillis: () => 10000 })';

  test('bundles Powertools Logger and Metrics, and neither the Tracer nor the SSM client', () => {
    const packages = packagesOf(consumer.inputs);
    expect(packages).toEqual(expect.arrayContaining(['@aws-lambda-powertools/logger', '@aws-lambda-powertools/metrics', 'pg']));
    expect(packages.filter(name => OPTIONAL_PACKAGES.includes(name) && !/powertools\/(logger|metrics)$/.test(name))).toEqual([]);
  });

  test('without the reader next to the bundle, appParameters() says where it belongs', async () => {
    const { error, loaded } = await runIsolated(consumer.file, invoke, { ...ENVIRONMENT, ...CREDENTIALS, PARAMETERS_PATH: '/app/prod' });
    const reader = path.join(path.dirname(consumer.file), 'parameter-store');
    expect(error).toBe(`SettingsError: appParameters() reads Parameter Store with ${reader}.js, which is missing: DatabaseFunction puts it next to `
      + 'the handler\'s bundle when its `parameters` prop is set; when you bundle the handler yourself, copy '
      + 'cdk-serverless-rds/dist/runtime/parameter-store.js next to the bundle');
    expect(loaded).toEqual([consumer.file]);
  });

  test('with the shipped reader next to the bundle, appParameters() loads it on first use and reads Parameter Store', async () => {
    const reader = path.join(path.dirname(consumer.file), 'parameter-store.js');
    fs.copyFileSync(path.join(packageDir, 'dist', 'runtime', 'parameter-store.js'), reader);
    const { result, error, loaded } = await runIsolated(consumer.file, invoke, {
      ...ENVIRONMENT, ...CREDENTIALS, PARAMETERS_PATH: '/app/prod', AWS_ENDPOINT_URL_SSM: endpoint,
    });
    expect(error).toBeUndefined();
    expect(result).toEqual({ 'max-limit': '50' });
    expect(loaded).toEqual([consumer.file, reader]);
  });
});
