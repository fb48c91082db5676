/**
 * Builds every variant's bundle with the real constructs: one bench App,
 * synthesized with bundling on and without the checks, and each function's
 * code folder read back from the cloud assembly.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { DatabaseEngine, DatabaseFunction, DatabaseNetwork, DependencyLayer, ProxiedDatabase } from '../../lib';
import { cdkJsonContext, PROJECT_ROOT } from '../../test/support/app';

export const HANDLERS = ['reference-api', 'reference-worker'] as const;
export type HandlerName = typeof HANDLERS[number];

export const VARIANTS = ['DatabaseFunction', 'NodejsFunction defaults', 'DatabaseFunction + shared layer', 'hello world'] as const;
export type Variant = typeof VARIANTS[number];
export const FLOOR: Variant = 'hello world';

/** A record with one entry per variant. */
export function byVariant<T>(make: (variant: Variant) => T): Record<Variant, T> {
  return Object.fromEntries(VARIANTS.map(variant => [variant, make(variant)])) as Record<Variant, T>;
}

/** A record with one entry per handler. */
export function byHandler<T>(make: (handler: HandlerName) => T): Record<HandlerName, T> {
  return Object.fromEntries(HANDLERS.map(handler => [handler, make(handler)])) as Record<HandlerName, T>;
}

/** Where the database users of the reference handlers come from: the names their stacks give them. */
export const DATABASE_USERS: Record<HandlerName, string> = { 'reference-api': 'reference_api', 'reference-worker': 'reference_worker' };

/** One synthesized function, ready to be loaded by the probe. */
export interface Bundle {
  /** The function's code folder (its asset in the cloud assembly). */
  readonly codeDirectory: string;
  /** The module that holds the handler, inside codeDirectory (from the function's Handler, e.g. `index.js`). */
  readonly handlerFile: string;
  /** The exported handler function's name. */
  readonly handlerExport: string;
  /** The function's literal environment variables as synthesized (values that are tokens left out). */
  readonly environment: Readonly<Record<string, string>>;
  /** The layer's code folder (its asset), when the function has the shared layer. */
  readonly layerDirectory?: string;
  /**
   * The folder Node resolves bare imports from besides the code folder, as Lambda's NODE_PATH does:
   * the layer's `nodejs/node_modules`, or for NodejsFunction's externals the project's node_modules
   * (standing in for the SDK that Lambda's runtime provides).
   */
  readonly modulePath?: string;
}

export type Bundles = Record<HandlerName, Record<Variant, Bundle>>;

const ENTRIES: Record<HandlerName, string> = {
  'reference-api': path.join(PROJECT_ROOT, 'lambda', 'reference-api', 'handler.ts'),
  'reference-worker': path.join(PROJECT_ROOT, 'lambda', 'reference-worker', 'handler.ts'),
};
const HELLO_WORLD_ENTRY = path.join(__dirname, 'hello-world.ts');
const SHARED_LAYER_PACKAGE = path.join(PROJECT_ROOT, 'lambda', 'layers', 'shared');
const LOCK_FILE = path.join(PROJECT_ROOT, 'package-lock.json');
const PROJECT_MODULES = path.join(PROJECT_ROOT, 'node_modules');
const LAYER_MODULES = path.join('nodejs', 'node_modules');

/** What NodejsFunction gets with no bundling options: only what it cannot do without. */
function nodejsDefaults(scope: Construct, id: string, entry: string): nodejs.NodejsFunction {
  return new nodejs.NodejsFunction(scope, id, { entry, runtime: lambda.Runtime.NODEJS_24_X, architecture: lambda.Architecture.ARM_64 });
}

/** Synthesizes the bench app into `outdir` (bundling every function) and returns each variant's bundle. */
export function buildBundles(outdir: string): Bundles {
  const app = new App({
    outdir,
    context: {
      ...cdkJsonContext(),
      // What the CLI sets: without it the assembly does not say where each asset is.
      [cxapi.ASSET_RESOURCE_METADATA_ENABLED_CONTEXT]: true,
      // The checks look at the template, not the code: they only slow the bench down.
      '@aws-cdk/core:validateAgainstDefaultRules': false,
    },
  });
  const stack = new Stack(app, 'ColdStartBench');
  const network = new DatabaseNetwork(stack, 'Network');
  const databases = {
    'reference-api': new ProxiedDatabase(stack, 'Postgres', { network }),
    'reference-worker': new ProxiedDatabase(stack, 'Mysql', { network, engine: DatabaseEngine.auroraMysql() }),
  };
  const layer = new DependencyLayer(stack, 'SharedLayer', { packageDirectory: SHARED_LAYER_PACKAGE });
  const helloWorld = nodejsDefaults(stack, 'HelloWorld', HELLO_WORLD_ENTRY);

  const functions = byHandler((handler): Record<Variant, lambda.Function> => {
    const databaseFunction = (id: string, layers?: DependencyLayer[]) => new DatabaseFunction(stack, id, {
      database: databases[handler],
      databaseUser: DATABASE_USERS[handler],
      // The bench creates the users in its local databases (./databases).
      externallyManagedDatabaseUser: true,
      entry: ENTRIES[handler],
      depsLockFilePath: LOCK_FILE,
      serviceName: handler,
      layers,
    }).lambdaFunction;
    const prefix = handler === 'reference-api' ? 'Api' : 'Worker';
    return {
      'DatabaseFunction': databaseFunction(`${prefix}DatabaseFunction`),
      'NodejsFunction defaults': nodejsDefaults(stack, `${prefix}NodejsDefaults`, ENTRIES[handler]),
      'DatabaseFunction + shared layer': databaseFunction(`${prefix}SharedLayer`, [layer]),
      'hello world': helloWorld,
    };
  });

  const assembly = app.synth();
  const template = assembly.getStackArtifact(stack.artifactId).template as { Resources: Record<string, CfnResource> };
  const assetDirectory = (construct: Construct): string => {
    const logicalId = stack.getLogicalId(construct.node.defaultChild as lambda.CfnFunction | lambda.CfnLayerVersion);
    const assetPath = template.Resources[logicalId]?.Metadata?.[cxapi.ASSET_RESOURCE_METADATA_PATH_KEY];
    if (typeof assetPath !== 'string') throw new Error(`the cloud assembly has no ${cxapi.ASSET_RESOURCE_METADATA_PATH_KEY} for ${construct.node.path}`);
    const directory = path.resolve(assembly.directory, assetPath);
    if (!fs.statSync(directory).isDirectory()) throw new Error(`the asset of ${construct.node.path} is not a folder: ${directory}`);
    return directory;
  };
  const layerDirectory = assetDirectory(layer.layerVersion);

  const bundle = (fn: lambda.Function, variant: Variant): Bundle => {
    const properties = template.Resources[stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)].Properties;
    const [module, handlerExport] = splitHandler(String(properties.Handler));
    const withLayer = variant === 'DatabaseFunction + shared layer';
    return {
      codeDirectory: assetDirectory(fn),
      handlerFile: `${module}.js`,
      handlerExport,
      environment: literalValues(properties.Environment?.Variables ?? {}),
      ...(withLayer ? { layerDirectory, modulePath: path.join(layerDirectory, LAYER_MODULES) } : {}),
      ...(variant === 'NodejsFunction defaults' || variant === FLOOR ? { modulePath: PROJECT_MODULES } : {}),
    };
  };
  return byHandler(handler => byVariant(variant => bundle(functions[handler][variant], variant)));
}

interface CfnResource {
  readonly Properties: { Handler?: unknown; Environment?: { Variables?: Record<string, unknown> } };
  readonly Metadata?: Record<string, unknown>;
}

/** 'index.handler' → ['index', 'handler']; the module part may hold folders ('src/index.handler'). */
function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw new Error(`unexpected Handler '${handler}': expected <module>.<export>`);
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

/** Variables whose values are literal strings; tokens (the proxy endpoint) are replaced by the local server's settings later. */
function literalValues(variables: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
