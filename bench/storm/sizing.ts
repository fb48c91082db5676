/**
 * The pool and timeouts the storm uses, taken from what the constructs
 * synthesize rather than typed in by hand, so the benchmark follows the
 * construct when its sizing rules change.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DatabaseFunction, DatabaseNetwork, ProxiedDatabase } from '../../lib';
import { REFERENCE_API_USER } from '../../bin/stacks/reference-api-stack';
import { HANDLER_ENTRY, LOCK_FILE, testApp } from '../../test/support/app';
import { prepareTmpRoot, TMP_ROOT } from '../../test/support/local-server';

export interface ConstructSizing {
  /** The database's max_connections the construct was given. */
  readonly maxConnections: number;
  /** Server connections of the proxy pool (`ProxiedDatabase.poolSize`). */
  readonly poolSize: number;
  /** The proxy's ConnectionBorrowTimeout, as synthesized. */
  readonly borrowTimeoutSeconds: number;
  /** The function's timeout: the deadline of one invocation. */
  readonly functionTimeoutMillis: number;
  /** DATABASE_CONNECT_TIMEOUT_MS and DATABASE_QUERY_TIMEOUT_MS of the function's environment. */
  readonly clientTimeouts: Readonly<Record<'DATABASE_CONNECT_TIMEOUT_MS' | 'DATABASE_QUERY_TIMEOUT_MS', string>>;
}

/** The reference API's function timeout (bin/stacks/reference-api-stack.ts). */
const REFERENCE_API_TIMEOUT = Duration.seconds(10);

/**
 * Synthesizes a throwaway stack (bundling skipped) with a ProxiedDatabase of
 * `maxConnections` and a DatabaseFunction with the reference API's settings,
 * and reads the sizing from the construct and its template.
 */
export function sizeFromConstructs(maxConnections: number): ConstructSizing {
  prepareTmpRoot();
  const outdir = fs.mkdtempSync(path.join(TMP_ROOT, 'storm-sizing-'));
  try {
    return synthesizeSizing(maxConnections, outdir);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function synthesizeSizing(maxConnections: number, outdir: string): ConstructSizing {
  const app = testApp({ outdir });
  const stack = new Stack(app, 'StormSizing');
  const network = new DatabaseNetwork(stack, 'Network');
  const database = new ProxiedDatabase(stack, 'Database', { network, maxConnections });
  const itemsFunction = new DatabaseFunction(stack, 'ItemsFunction', {
    database,
    databaseUser: REFERENCE_API_USER,
    // Only the sizing is read from this stack; the storm creates the user in its local database.
    externallyManagedDatabaseUser: true,
    serviceName: 'reference-api',
    entry: HANDLER_ENTRY,
    depsLockFilePath: LOCK_FILE,
    timeout: REFERENCE_API_TIMEOUT,
  });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: any }> };
  const resources = Object.values(template.Resources);

  const targetGroups = resources.filter(resource => resource.Type === 'AWS::RDS::DBProxyTargetGroup');
  if (targetGroups.length !== 1) throw new Error(`expected one AWS::RDS::DBProxyTargetGroup in the sizing stack, found ${targetGroups.length}`);
  const borrowTimeoutSeconds = targetGroups[0].Properties.ConnectionPoolConfigurationInfo?.ConnectionBorrowTimeout;

  const functionId = stack.getLogicalId(itemsFunction.lambdaFunction.node.defaultChild as lambda.CfnFunction);
  const { Timeout: timeoutSeconds, Environment: environment } = template.Resources[functionId].Properties;
  const variables = environment?.Variables ?? {};
  const connectTimeout = variables.DATABASE_CONNECT_TIMEOUT_MS;
  const queryTimeout = variables.DATABASE_QUERY_TIMEOUT_MS;

  if (database.poolSize === undefined) throw new Error(`ProxiedDatabase has no pool size for maxConnections ${maxConnections}`);
  if (typeof borrowTimeoutSeconds !== 'number') throw new Error(`ConnectionBorrowTimeout did not resolve to a number: ${JSON.stringify(borrowTimeoutSeconds)}`);
  if (typeof timeoutSeconds !== 'number') throw new Error(`the function's Timeout did not resolve to a number: ${JSON.stringify(timeoutSeconds)}`);
  if (typeof connectTimeout !== 'string' || typeof queryTimeout !== 'string') {
    throw new Error('the function environment lacks DATABASE_CONNECT_TIMEOUT_MS or DATABASE_QUERY_TIMEOUT_MS');
  }
  return {
    maxConnections,
    poolSize: database.poolSize,
    borrowTimeoutSeconds,
    functionTimeoutMillis: timeoutSeconds * 1000,
    clientTimeouts: { DATABASE_CONNECT_TIMEOUT_MS: connectTimeout, DATABASE_QUERY_TIMEOUT_MS: queryTimeout },
  };
}
