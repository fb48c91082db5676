import * as fs from 'fs';
import * as path from 'path';
import { AssetStaging, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, DependencyLayer, ProxiedDatabase } from '../lib';
import { LOCK_FILE, PROJECT_ROOT, template, testStack } from './support/app';

const LAYER_PACKAGE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'layer-ms');
const CONSUMER_ENTRY = path.join(PROJECT_ROOT, 'test', 'fixtures', 'layer-consumer', 'handler.js');

type FunctionOptions = Omit<DatabaseFunctionProps, 'database' | 'entry' | 'databaseUser'>;

function setup(bundling: boolean) {
  const stack = testStack({ bundling });
  const network = new DatabaseNetwork(stack, 'Network');
  const database = new ProxiedDatabase(stack, 'Database', { network });
  const layer = new DependencyLayer(stack, 'Layer', { packageDirectory: LAYER_PACKAGE });
  const add = (id: string, options: FunctionOptions = {}) => new DatabaseFunction(stack, id, {
    database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: CONSUMER_ENTRY, depsLockFilePath: LOCK_FILE, ...options,
  });
  return { stack, layer, add };
}

/** The bundled index.js of a function, read from its staged asset. */
function bundledCode(fn: DatabaseFunction): string {
  const staging = fn.lambdaFunction.node.findAll().find((c): c is AssetStaging => c instanceof AssetStaging)!;
  return fs.readFileSync(path.join(staging.absoluteStagedPath, 'index.js'), 'utf8');
}

describe('functions with a dependency layer (real bundling)', () => {
  const { stack, layer, add } = setup(true);
  const fromLayer = add('FromLayer', { layers: [layer] });
  const bundled = add('Bundled', { layers: [layer], bundledPackages: ['ms'] });
  const t = template(stack);

  test('leave the layer\'s packages out of the bundle and require them from the layer at run time', () => {
    const code = bundledCode(fromLayer);
    expect(code).toMatch(/require\("ms"\)/);
    expect(code).not.toMatch(/years?|\bd\s*\*\s*365\.25/);
  });

  test('bundle the packages listed in bundledPackages', () => {
    const code = bundledCode(bundled);
    expect(code).not.toMatch(/require\("ms"\)/);
    expect(code).toMatch(/365\.25/);
  });

  test('attach the layer version of the same stack by reference', () => {
    const layerId = stack.getLogicalId(layer.layerVersion.node.defaultChild as lambda.CfnLayerVersion);
    const resources = t.toJSON().Resources;
    for (const fn of [fromLayer, bundled]) {
      expect(resources[stack.getLogicalId(fn.lambdaFunction.node.defaultChild as lambda.CfnFunction)].Properties.Layers).toEqual([{ Ref: layerId }]);
    }
  });
});

describe('functions with a dependency layer', () => {
  test('throws when bundledPackages names a package no layer provides', () => {
    const { layer, add } = setup(false);
    expect(() => add('Fn', { layers: [layer], bundledPackages: ['pg'] }))
      .toThrow(/bundledPackages lists 'pg', which none of the layers provides \(ms\): remove it/);
  });

  test('throws when bundledPackages is given without layers', () => {
    const { add } = setup(false);
    expect(() => add('Fn', { bundledPackages: ['ms'] })).toThrow(/bundledPackages lists 'ms', which none of the layers provides \(no layers\)/);
  });

  test('throws when the layer is built for another architecture', () => {
    const { stack, add } = setup(false);
    const x86 = new DependencyLayer(stack, 'X86', { packageDirectory: LAYER_PACKAGE, architecture: lambda.Architecture.X86_64 });
    expect(() => add('Fn', { layers: [x86] })).toThrow(/x86_64.*arm64|arm64.*x86_64/);
  });

  test('an x86_64 function refuses the default arm64 layer and takes one built for x86_64', () => {
    const { stack, layer, add } = setup(false);
    expect(() => add('Arm', { architecture: lambda.Architecture.X86_64, layers: [layer] })).toThrow(
      'Test/Arm/Function: the layer Test/Layer is built for architecture arm64 but the function runs on x86_64: '
      + 'set the layer\'s architecture to x86_64 too, or run the function on arm64');
    const x86 = new DependencyLayer(stack, 'X86', { packageDirectory: LAYER_PACKAGE, architecture: lambda.Architecture.X86_64 });
    expect(() => add('X86Fn', { architecture: lambda.Architecture.X86_64, layers: [x86] })).not.toThrow();
  });

  test('throws when the layer is built for another runtime', () => {
    const { stack, add } = setup(false);
    const node22 = new DependencyLayer(stack, 'Node22', { packageDirectory: LAYER_PACKAGE, runtime: lambda.Runtime.NODEJS_22_X });
    expect(() => add('Fn', { layers: [node22] })).toThrow(/nodejs22\.x.*nodejs24\.x|nodejs24\.x.*nodejs22\.x/);
  });

  test('a layer of another stack is read from Parameter Store, and its lockfile hash is mixed into the version', () => {
    const { stack, layer } = setup(false);
    const consumerStack = new Stack(stack.node.scope!, 'Consumer');
    const network = new DatabaseNetwork(consumerStack, 'Network');
    const database = new ProxiedDatabase(consumerStack, 'Database', { network });
    const make = (layers: DependencyLayer[]) => new DatabaseFunction(consumerStack, `Fn${layers.length}`, {
      database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: CONSUMER_ENTRY, depsLockFilePath: LOCK_FILE, layers,
      provisionedConcurrency: { minCapacity: 1 },
    });
    make([layer]);
    expect(consumerStack.dependencies).toContain(stack);
    const json = JSON.stringify(template(consumerStack).toJSON());
    expect(json).not.toContain('Fn::ImportValue');
    expect(Object.values(template(consumerStack).toJSON().Parameters).some((p: any) => p.Type === 'AWS::SSM::Parameter::Value<String>')).toBe(true);
  });

  test('a new lockfile of a layer in another stack publishes a new version of the consumer', () => {
    const versionWith = (packageDirectory: string) => {
      const { stack } = setup(false);
      const layer = new DependencyLayer(stack, 'Other', { packageDirectory });
      const consumerStack = new Stack(stack.node.scope!, 'Consumer');
      const database = new ProxiedDatabase(consumerStack, 'Database', { network: new DatabaseNetwork(consumerStack, 'Network') });
      const fn = new DatabaseFunction(consumerStack, 'Fn', {
        database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: CONSUMER_ENTRY, depsLockFilePath: LOCK_FILE, layers: [layer],
        provisionedConcurrency: { minCapacity: 1 },
      });
      return consumerStack.resolve((fn.lambdaFunction.currentVersion.node.defaultChild as lambda.CfnVersion).logicalId);
    };
    const changed = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'layer-changed-'));
    try {
      fs.copyFileSync(path.join(LAYER_PACKAGE, 'package.json'), path.join(changed, 'package.json'));
      const lock = JSON.parse(fs.readFileSync(path.join(LAYER_PACKAGE, 'package-lock.json'), 'utf8'));
      lock.packages['node_modules/ms'].integrity += ' ';
      fs.writeFileSync(path.join(changed, 'package-lock.json'), JSON.stringify(lock, null, 2));
      expect(versionWith(LAYER_PACKAGE)).toBe(versionWith(LAYER_PACKAGE));
      expect(versionWith(changed)).not.toBe(versionWith(LAYER_PACKAGE));
    } finally {
      fs.rmSync(changed, { recursive: true, force: true });
    }
  });
});
