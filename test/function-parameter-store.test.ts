/**
 * DatabaseFunction's asset for a function with `parameters`: the handler's
 * bundle plus the Parameter Store reader next to it, which the handler loads
 * on first use. Real bundling of the reference API, then the asset runs in a
 * fresh Node process that can load no package (as in Lambda, where the asset
 * is all there is) against PostgreSQL and a local Parameter Store.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AppParameters, DatabaseFunction, DatabaseNetwork, ProxiedDatabase } from '../lib';
import { PARAMETER_STORE_READER, withParameterStoreReader } from '../lib/function/private/parameter-store-reader';
import { BenchDatabase, startDatabase } from '../bench/cold-start/databases';
import { HANDLER_ENTRY, LOCK_FILE, testApp } from './support/app';
import { IsolatedOutcome, runIsolated } from './support/isolated-node';
import { HOST, prepareTmpRoot, TMP_ROOT } from './support/local-server';

const PARAMETERS_PATH = '/items/test';

let work: string;
let assets: { withParameters: string; withoutParameters: string };
let database: BenchDatabase;
let ssm: http.Server;
let ssmEndpoint: string;

beforeAll(async () => {
  prepareTmpRoot();
  work = fs.mkdtempSync(path.join(TMP_ROOT, 'function-parameter-store-'));
  const starting = startDatabase('reference-api', () => undefined);
  assets = synthesizeAssets(path.join(work, 'cdk.out'));
  database = await starting;
  // GetParametersByPath: one page, default-limit 1, so GET /items shows that the values arrived.
  ssm = http.createServer((request, response) => {
    request.resume().on('end', () => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ Parameters: [{ Name: `${PARAMETERS_PATH}/default-limit`, Type: 'String', Value: '1' }] }));
    });
  });
  ssmEndpoint = await new Promise<string>(resolve => ssm.listen(0, HOST, () => resolve(`http://${HOST}:${(ssm.address() as net.AddressInfo).port}`)));
});

afterAll(async () => {
  if (ssm) await new Promise(resolve => ssm.close(resolve));
  await database?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Bundles the reference API twice, with and without parameters, and returns each asset folder. */
function synthesizeAssets(outdir: string): { withParameters: string; withoutParameters: string } {
  const app = testApp({ bundling: true, outdir, context: { [cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true, '@aws-cdk/core:validateAgainstDefaultRules': false } });
  const stack = new Stack(app, 'ParameterStoreReader');
  const network = new DatabaseNetwork(stack, 'Network');
  const proxied = new ProxiedDatabase(stack, 'Database', { network });
  const parameters = new AppParameters(stack, 'Parameters', { path: PARAMETERS_PATH, values: { 'default-limit': '1' } });
  const props = { database: proxied, databaseUser: 'reference_api', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE };
  const withParameters = new DatabaseFunction(stack, 'WithParameters', { ...props, parameters });
  const withoutParameters = new DatabaseFunction(stack, 'WithoutParameters', props);
  const assembly = app.synth();
  const resources = assembly.getStackArtifact(stack.artifactId).template.Resources;
  const assetOf = (fn: DatabaseFunction) => {
    const assetPath = resources[stack.getLogicalId(fn.lambdaFunction.node.defaultChild as lambda.CfnFunction)].Metadata[cxapi.ASSET_RESOURCE_METADATA_PATH_KEY];
    return path.resolve(assembly.directory, assetPath);
  };
  return { withParameters: assetOf(withParameters), withoutParameters: assetOf(withoutParameters) };
}

/** Calls the asset's handler with each event in turn, in a process that finds no node_modules; resolves to the answers. */
function invokeAsset(asset: string, events: unknown[], env: Record<string, string>): Promise<IsolatedOutcome> {
  const context = '{ functionName: "items", awsRequestId: "r", getRemainingTimeInMillis: () => 10000 }';
  return runIsolated(path.join(asset, 'index.js'), `(async () => {
    const answers = [];
    for (const event of ${JSON.stringify(events)}) answers.push(await module.handler(event, ${context}));
    return answers;
  })()`, env);
}

function request(routeKey: string, extra: Record<string, unknown> = {}): unknown {
  const [method, rawPath] = routeKey.split(' ');
  return {
    version: '2.0', routeKey, rawPath, rawQueryString: '', headers: {}, isBase64Encoded: false,
    requestContext: { http: { method, path: rawPath }, requestId: `request-${routeKey}` },
    ...extra,
  };
}

test('a function with parameters gets the Parameter Store reader next to its bundle; one without does not', () => {
  expect(fs.readdirSync(assets.withParameters).sort()).toEqual(['index.js', 'index.js.map', 'parameter-store.js']);
  expect(fs.readFileSync(path.join(assets.withParameters, 'parameter-store.js'))).toEqual(fs.readFileSync(PARAMETER_STORE_READER));
  expect(fs.readdirSync(assets.withoutParameters).sort()).toEqual(['index.js', 'index.js.map']);
  // The SSM client (its JSON protocol's target prefix) lives in the reader only.
  expect(fs.readFileSync(path.join(assets.withParameters, 'index.js'), 'utf8').includes('AmazonSSM')).toBe(false);
  expect(fs.readFileSync(path.join(assets.withParameters, 'parameter-store.js'), 'utf8').includes('AmazonSSM')).toBe(true);
});

test('the handler in the asset reads its parameters through the reader on first use and answers from the database', async () => {
  const post = (key: string, name: string) => request('POST /items', { headers: { 'idempotency-key': key }, body: JSON.stringify({ name }) });
  const { result: answers, error, loaded } = await invokeAsset(assets.withParameters, [post('asset-1', 'first'), post('asset-2', 'second'), request('GET /items')], {
    ...database.environment,
    PARAMETERS_PATH,
    // The database's environment brings the dummy credentials, which sign the SSM request and the database token alike.
    AWS_ENDPOINT_URL_SSM: ssmEndpoint,
    POWERTOOLS_METRICS_NAMESPACE: 'ParameterStoreReader',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
  expect(error).toBeUndefined();
  expect(answers.map((answer: { statusCode: number }) => answer.statusCode)).toEqual([201, 201, 200]);
  // default-limit 1 from Parameter Store: only the newest item.
  expect(JSON.parse(answers[2].body).items.map((item: { name: string }) => item.name)).toEqual(['second']);
  expect(loaded).toEqual([path.join(assets.withParameters, 'index.js'), path.join(assets.withParameters, 'parameter-store.js')]);
});

test('the copy runs after the function\'s own command hooks, which stay; with Docker bundling it fails and says how to bundle locally', () => {
  const scope = new Stack(testApp(), 'Hooks');
  const hooks = withParameterStoreReader(scope, {
    beforeBundling: () => ['echo before'],
    beforeInstall: () => ['echo install'],
    afterBundling: (_inputDir, outputDir) => [`echo after ${outputDir}`],
  });
  expect(hooks.beforeBundling('/project', '/out')).toEqual(['echo before']);
  expect(hooks.beforeInstall('/project', '/out')).toEqual(['echo install']);
  expect(hooks.afterBundling('/project', '/out')).toEqual(['echo after /out', `cp "${PARAMETER_STORE_READER}" "/out/parameter-store.js"`]);
  expect(withParameterStoreReader(scope, undefined).afterBundling('/asset-input', '/asset-output')).toEqual(['echo "Hooks: a function with '
    + 'parameters needs the Parameter Store reader of cdk-serverless-rds copied next to its bundle, which Docker bundling cannot reach: install '
    + 'esbuild in the project (npm install --save-dev esbuild) and leave bundling.forceDockerBundling unset" >&2 && exit 1']);
});
