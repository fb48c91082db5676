import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { App, AssetStaging, CfnParameter, Fn, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DependencyLayer, DependencyLayerProps } from '../lib';
import { validateFunctionLayers } from '../lib/function/private/layer-limits';
import { cdkJsonContext, inlineFunction, PROJECT_ROOT, template, testApp, testStack } from './support/app';

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'layer-ms');
/** ms 2.1.2: a lockfile that resolves the fixture's `ms@^2.1.0` differently. */
const MS_2_1_2 = { version: '2.1.2', integrity: 'sha512-sGkPx+VjMtmA6MX27oA4FBFELFCZZ4S4XqeGOXCv68tT+jb3vk/RyaKWP0PTKyWtmLSM0b+adUTEvbs1PEaH2w==', license: 'MIT' };
/** In the npm cache of this project (a dependency of its tooling), like ms. */
const IS_NUMBER = { version: '7.0.0', integrity: 'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==', license: 'MIT' };

type Json = { [key: string]: any };

interface FixtureEdits {
  readonly manifest?: (manifest: Json) => void;
  readonly lockfile?: (lockfile: Json) => void;
  /** Contents of an .npmrc next to package.json. */
  readonly npmrc?: string;
}

const temporaryDirectories: string[] = [];
afterAll(() => temporaryDirectories.forEach(directory => fs.rmSync(directory, { recursive: true, force: true })));

function temporaryDirectory(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'layer-test-'));
  temporaryDirectories.push(directory);
  return directory;
}

/** A copy of the fixture package (package.json with ms, its lockfile) in a fresh folder, optionally edited. */
function fixtureCopy(edits: FixtureEdits = {}): string {
  const directory = temporaryDirectory();
  for (const [file, edit] of [['package.json', edits.manifest], ['package-lock.json', edits.lockfile]] as const) {
    const content = fs.readFileSync(path.join(FIXTURE, file), 'utf8');
    if (edit) {
      const json = JSON.parse(content);
      edit(json);
      fs.writeFileSync(path.join(directory, file), JSON.stringify(json, null, 2));
    } else {
      fs.writeFileSync(path.join(directory, file), content);
    }
  }
  if (edits.npmrc !== undefined) {
    fs.writeFileSync(path.join(directory, '.npmrc'), edits.npmrc);
  }
  return directory;
}

/**
 * Runs `action` with an empty npm cache, where any offline install fails.
 * (Through the environment: npm ranks it above a project .npmrc, and npx sets it.)
 */
function withEmptyNpmCache<T>(action: () => T): T {
  const cache = process.env.npm_config_cache;
  process.env.npm_config_cache = temporaryDirectory();
  try {
    return action();
  } finally {
    if (cache === undefined) {
      delete process.env.npm_config_cache;
    } else {
      process.env.npm_config_cache = cache;
    }
  }
}

function staging(layer: DependencyLayer): AssetStaging {
  return layer.node.findAll().find((construct): construct is AssetStaging => construct instanceof AssetStaging)!;
}

function s3Key(stack: Stack, layer: DependencyLayer): unknown {
  return template(stack).toJSON().Resources[stack.getLogicalId(layer.layerVersion.node.defaultChild as lambda.CfnLayerVersion)].Properties.Content.S3Key;
}

function layerIn(stack: Stack, props: Partial<DependencyLayerProps> = {}, id = 'Layer'): DependencyLayer {
  return new DependencyLayer(stack, id, { packageDirectory: FIXTURE, ...props });
}

function filesUnder(directory: string): string[] {
  return fs.readdirSync(directory, { recursive: true, encoding: 'utf8' }).sort();
}

describe('DependencyLayer build (npm ci from the npm cache)', () => {
  const outdir = temporaryDirectory();
  const first = new Stack(new App({ context: cdkJsonContext(), outdir }), 'First');
  const firstLayer = layerIn(first, { packageDirectory: fixtureCopy() });
  const second = testStack({ bundling: true });
  const secondLayer = layerIn(second, { packageDirectory: fixtureCopy({ npmrc: 'fund=false\n' }), offline: true });
  validateFunctionLayers(inlineFunction(second, 'Small'), [secondLayer], lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64);

  test('gives the same asset hash and S3 key in two synths of the same lockfile from different folders', () => {
    expect(staging(firstLayer).assetHash).toBe(staging(secondLayer).assetHash);
    expect(s3Key(first, firstLayer)).toBe(`${staging(firstLayer).assetHash}.zip`);
    expect(s3Key(second, secondLayer)).toBe(s3Key(first, firstLayer));
    expect(staging(firstLayer).absoluteStagedPath).not.toBe(staging(secondLayer).absoluteStagedPath);
  });

  test('holds the locked packages under nodejs/node_modules and nothing else (no package files, .npmrc or hidden lockfile)', () => {
    const staged = staging(secondLayer).absoluteStagedPath;
    expect(filesUnder(staged)).toEqual([
      'nodejs', path.join('nodejs', 'node_modules'), path.join('nodejs', 'node_modules', 'ms'),
      ...['index.js', 'license.md', 'package.json', 'readme.md'].map(file => path.join('nodejs', 'node_modules', 'ms', file)),
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(staged, 'nodejs', 'node_modules', 'ms', 'package.json'), 'utf8')).version).toBe('2.1.3');
  });

  test('reports its unzipped size from the staged files', () => {
    const msDirectory = path.join(staging(secondLayer).absoluteStagedPath, 'nodejs', 'node_modules', 'ms');
    const expected = fs.readdirSync(msDirectory).reduce((total, file) => total + fs.statSync(path.join(msDirectory, file)).size, 0);
    expect(expected).toBeGreaterThan(1000);
    expect(secondLayer.unzippedSizeBytes()).toBe(expected);
  });

  test('reuses a layer already built in cdk.out without running npm again', () => {
    AssetStaging.clearAssetHashCache();
    const again = new Stack(new App({ context: cdkJsonContext(), outdir }), 'First');
    // npm would fail here (offline with an empty cache), so the layer must come from cdk.out.
    const reused = withEmptyNpmCache(() => layerIn(again, { packageDirectory: fixtureCopy(), offline: true }));
    expect(staging(reused).absoluteStagedPath).toBe(staging(firstLayer).absoluteStagedPath);
    expect(s3Key(again, reused)).toBe(s3Key(first, firstLayer));
  });

  test('passes the size check when code and layers stay under 250 MB', () => {
    expect(() => template(second)).not.toThrow();
  });
});

describe('DependencyLayer platform packages', () => {
  /** A platform package like @esbuild/linux-arm64: optional, installable on linux arm64 glibc only. */
  const withArm64OnlyPackage = () => fixtureCopy({
    manifest: manifest => {
      manifest.optionalDependencies = { 'is-number': IS_NUMBER.version };
    },
    lockfile: lockfile => {
      lockfile.packages[''].optionalDependencies = { 'is-number': IS_NUMBER.version };
      lockfile.packages['node_modules/is-number'] = { ...IS_NUMBER, optional: true, os: ['linux'], cpu: ['arm64'], libc: ['glibc'] };
    },
  });
  const installed = (architecture: lambda.Architecture) => {
    const layer = layerIn(testStack({ bundling: true }), { packageDirectory: withArm64OnlyPackage(), architecture, offline: true });
    return fs.readdirSync(path.join(staging(layer).absoluteStagedPath, 'nodejs', 'node_modules')).sort();
  };

  test('installs the optional packages of linux arm64 for ARM_64, whatever the build machine', () => {
    expect(installed(lambda.Architecture.ARM_64)).toEqual(['is-number', 'ms']);
  });

  test('leaves out arm64-only packages for X86_64', () => {
    expect(installed(lambda.Architecture.X86_64)).toEqual(['ms']);
  });
});

describe('DependencyLayer resources', () => {
  const stack = testStack();
  const layer = layerIn(stack);
  layer.addPermission('Organization', { accountId: '*', organizationId: 'o-a1b2c3d4e5' });
  const t = template(stack);

  test('is a layer version for Node.js 24 on arm64 whose description names the lockfile hash', () => {
    t.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['nodejs24.x'],
      CompatibleArchitectures: ['arm64'],
      Description: `layer-fixture dependencies for nodejs24.x arm64, lockfile sha256 ${layer.lockfileHash}`,
    });
    expect(layer.lockfileHash).toMatch(/^[0-9a-f]{64}$/);
    expect(layer.runtime).toBe(lambda.Runtime.NODEJS_24_X);
    expect(layer.architecture).toBe(lambda.Architecture.ARM_64);
  });

  test('retains old layer versions and their permissions when replaced or deleted', () => {
    t.hasResource('AWS::Lambda::LayerVersion', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResource('AWS::Lambda::LayerVersionPermission', {
      Properties: {
        Action: 'lambda:GetLayerVersion', Principal: '*', OrganizationId: 'o-a1b2c3d4e5',
        LayerVersionArn: { Ref: stack.getLogicalId(layer.layerVersion.node.defaultChild as lambda.CfnLayerVersion) },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('lists the top-level dependencies that functions mark external', () => {
    expect(layer.packages).toEqual(['ms']);
  });

  test('has no size when the stack skips bundling', () => {
    expect(layer.unzippedSizeBytes()).toBeUndefined();
  });

  test('takes a custom description, also as a token', () => {
    const custom = testStack();
    layerIn(custom, { description: 'Shared packages' });
    template(custom).hasResourceProperties('AWS::Lambda::LayerVersion', { Description: 'Shared packages' });
    const tokenStack = testStack();
    const description = new CfnParameter(tokenStack, 'Description').valueAsString;
    layerIn(tokenStack, { description });
    template(tokenStack).hasResourceProperties('AWS::Lambda::LayerVersion', { Description: { Ref: 'Description' } });
  });
});

describe('DependencyLayer identity', () => {
  const hashes = (props: Partial<DependencyLayerProps>) => {
    const stack = testStack();
    const layer = layerIn(stack, props);
    return { lockfileHash: layer.lockfileHash, assetHash: staging(layer).assetHash, s3Key: s3Key(stack, layer) };
  };
  const original = hashes({});

  test('does not depend on the folder, offline mode or description', () => {
    expect(hashes({ packageDirectory: fixtureCopy(), offline: true, description: 'Other' })).toEqual(original);
  });

  test('changes with the lockfile alone', () => {
    const changed = hashes({ packageDirectory: fixtureCopy({ lockfile: lockfile => { lockfile.packages['node_modules/ms'] = MS_2_1_2; } }) });
    expect(changed.lockfileHash).not.toBe(original.lockfileHash);
    expect(changed.assetHash).not.toBe(original.assetHash);
    expect(changed.s3Key).not.toBe(original.s3Key);
  });

  test('changes with a new dependency', () => {
    const added = hashes({
      packageDirectory: fixtureCopy({
        manifest: manifest => { manifest.dependencies['is-number'] = IS_NUMBER.version; },
        lockfile: lockfile => {
          lockfile.packages[''].dependencies['is-number'] = IS_NUMBER.version;
          lockfile.packages['node_modules/is-number'] = IS_NUMBER;
        },
      }),
    });
    expect(added.assetHash).not.toBe(original.assetHash);
  });

  test('changes with the runtime and with the architecture', () => {
    const runtime = hashes({ runtime: lambda.Runtime.NODEJS_22_X });
    const architecture = hashes({ architecture: lambda.Architecture.X86_64 });
    expect(new Set([original.assetHash, runtime.assetHash, architecture.assetHash]).size).toBe(3);
  });
});

describe('DependencyLayer validation', () => {
  const create = (props: Partial<DependencyLayerProps>) => () => layerIn(testStack(), props);

  test('throws naming the missing package folder when JavaScript passes no props', () => {
    const stack = testStack();
    expect(() => new DependencyLayer(stack, 'Layer', undefined as unknown as DependencyLayerProps)).toThrow(
      "Test/Layer: packageDirectory is required but missing: pass packageDirectory (the folder with the layer's package.json and package-lock.json)");
  });

  test('rejects a runtime that is not Node.js', () => {
    expect(create({ runtime: lambda.Runtime.PYTHON_3_13 })).toThrow(
      'Test/Layer: runtime (python3.13) is not a Node.js runtime: use lambda.Runtime.NODEJS_24_X');
  });

  test('rejects an architecture Lambda does not run', () => {
    expect(create({ architecture: lambda.Architecture.custom('riscv64', 'linux/riscv64') })).toThrow(
      'architecture (riscv64) is not a Lambda architecture: use lambda.Architecture.ARM_64 or X86_64');
  });

  test('rejects a folder without package.json', () => {
    const directory = temporaryDirectory();
    expect(create({ packageDirectory: directory })).toThrow(
      `packageDirectory (${directory}) has no package.json: point it at the folder with package.json and create the lockfile there with \`npm install --package-lock-only\``);
  });

  test('rejects a folder without a lockfile', () => {
    const directory = fixtureCopy();
    fs.rmSync(path.join(directory, 'package-lock.json'));
    expect(create({ packageDirectory: directory })).toThrow(/has no package-lock.json: .*`npm install --package-lock-only`/);
  });

  test('rejects a lockfile that is not JSON', () => {
    const directory = fixtureCopy();
    fs.writeFileSync(path.join(directory, 'package-lock.json'), '<<<<<<< HEAD');
    expect(create({ packageDirectory: directory })).toThrow(/package-lock.json in packageDirectory \(.*\) is not valid JSON \(.*\): fix or regenerate it/);
  });

  test('rejects a package.json without dependencies', () => {
    const directory = fixtureCopy({ manifest: manifest => { delete manifest.dependencies; }, lockfile: lockfile => { delete lockfile.packages[''].dependencies; } });
    expect(create({ packageDirectory: directory })).toThrow(/package.json in packageDirectory \(.*\) has no dependencies: add the packages the layer should hold to "dependencies"/);
  });

  test('rejects lockfileVersion 1', () => {
    const directory = fixtureCopy({ lockfile: lockfile => { lockfile.lockfileVersion = 1; } });
    expect(create({ packageDirectory: directory })).toThrow(/has lockfileVersion 1, but the layer needs 2 or 3: regenerate it with npm 7 or later/);
  });

  test('rejects a lockfile that lacks a dependency of package.json', () => {
    const directory = fixtureCopy({ manifest: manifest => { manifest.dependencies['is-number'] = '^7.0.0'; } });
    expect(create({ packageDirectory: directory })).toThrow(
      /package-lock.json in packageDirectory \(.*\) is out of sync with package.json for is-number \(package.json: \^7.0.0, lockfile: absent\): run `npm install --package-lock-only` there/);
  });

  test('rejects a lockfile whose dependency range differs from package.json', () => {
    const directory = fixtureCopy({ manifest: manifest => { manifest.dependencies.ms = '^2.0.0'; } });
    expect(create({ packageDirectory: directory })).toThrow(/out of sync with package.json for ms \(package.json: \^2.0.0, lockfile: \^2.1.0\)/);
  });

  test('rejects a lockfile that still lists a dependency removed from package.json', () => {
    const directory = fixtureCopy({ lockfile: lockfile => { lockfile.packages[''].dependencies['is-number'] = '^7.0.0'; } });
    expect(create({ packageDirectory: directory })).toThrow(/out of sync with package.json for is-number \(package.json: absent, lockfile: \^7.0.0\)/);
  });

  test('rejects production packages with install scripts and names them', () => {
    const directory = fixtureCopy({
      lockfile: lockfile => {
        lockfile.packages['node_modules/ms'].hasInstallScript = true;
        lockfile.packages['node_modules/build-tool'] = { version: '1.0.0', dev: true, hasInstallScript: true };
      },
    });
    expect(create({ packageDirectory: directory })).toThrow(
      /has packages with install scripts \(ms\): the layer installs with --ignore-scripts because install scripts build native code for the build machine, not for Lambda \(linux, arm64\); use packages that ship prebuilt binaries/);
  });

  test('accepts install scripts in packages npm skips on linux arm64', () => {
    const directory = fixtureCopy({
      lockfile: lockfile => {
        lockfile.packages['node_modules/fsevents'] = { version: '2.3.3', optional: true, os: ['darwin'], hasInstallScript: true };
        lockfile.packages['node_modules/@esbuild/linux-x64'] = { version: '0.28.2', optional: true, os: ['linux'], cpu: ['x64'], hasInstallScript: true };
        lockfile.packages['node_modules/win-only'] = { version: '1.0.0', optional: true, os: ['!linux', '!darwin'], hasInstallScript: true };
      },
    });
    expect(create({ packageDirectory: directory })).not.toThrow();
    expect(create({ packageDirectory: directory, architecture: lambda.Architecture.X86_64 })).toThrow(/has packages with install scripts \(@esbuild\/linux-x64\)/);
  });

  test('rejects a description longer than 256 characters', () => {
    expect(create({ description: 'x'.repeat(257) })).toThrow("description (257 characters) is longer than Lambda's 256: shorten it");
  });

  test('fails with npm\'s own error when offline and a package is not in the npm cache', () => {
    const stack = testStack({ bundling: true });
    expect(() => withEmptyNpmCache(() => layerIn(stack, { packageDirectory: fixtureCopy(), offline: true }))).toThrow(
      /npm ci --omit=dev --ignore-scripts --no-audit --no-fund --offline --os=linux --cpu=arm64 --libc=glibc failed in a copy of packageDirectory .*exit code 1.*with offline: true every package must already be in the npm cache. npm said:\n(.|\n)*ENOTCACHED/);
  });
});

describe('DependencyLayer.layerVersionFor', () => {
  test('is the layer version itself in the layer\'s stack', () => {
    const stack = testStack();
    const layer = layerIn(stack);
    expect(layer.layerVersionFor(inlineFunction(stack, 'Fn'))).toBe(layer.layerVersion);
    expect(template(stack).findResources('AWS::SSM::Parameter')).toEqual({});
  });

  describe('in another stack', () => {
    const app = testApp();
    const layerStack = new Stack(app, 'LayerStack');
    const consumerStack = new Stack(app, 'ApiStack');
    const layer = layerIn(layerStack);
    const fn = inlineFunction(consumerStack, 'Fn');
    const imported = layer.layerVersionFor(fn);
    fn.addLayers(imported);
    const again = layer.layerVersionFor(inlineFunction(consumerStack, 'Other'));
    const layerTemplate = Template.fromStack(layerStack);
    const consumerTemplate = Template.fromStack(consumerStack);
    const parameterName = layerTemplate.findResources('AWS::SSM::Parameter')[Object.keys(layerTemplate.findResources('AWS::SSM::Parameter'))[0]].Properties.Name;

    test('writes the current version\'s ARN to an SSM parameter in the layer\'s stack', () => {
      layerTemplate.resourceCountIs('AWS::SSM::Parameter', 1);
      layerTemplate.hasResourceProperties('AWS::SSM::Parameter', {
        Type: 'String',
        Name: Match.stringLikeRegexp('^/cdk-serverless-rds/layers/LayerStack/'),
        Value: { Ref: layerStack.getLogicalId(layer.layerVersion.node.defaultChild as lambda.CfnLayerVersion) },
      });
    });

    test('reads the ARN from that parameter, with no CloudFormation export', () => {
      const parameters = consumerTemplate.toJSON().Parameters;
      const [logicalId] = Object.keys(parameters).filter(id => parameters[id].Type === 'AWS::SSM::Parameter::Value<String>' && parameters[id].Default === parameterName);
      expect(logicalId).toBeDefined();
      expect(parameters[logicalId].Description).toContain(layer.lockfileHash);
      consumerTemplate.hasResourceProperties('AWS::Lambda::Function', { Layers: [{ Ref: logicalId }] });
      expect(JSON.stringify(consumerTemplate.toJSON())).not.toContain('Fn::ImportValue');
      expect(layerTemplate.toJSON().Outputs ?? {}).toEqual({});
    });

    test('makes the consumer\'s stack depend on the layer\'s stack', () => {
      expect(consumerStack.dependencies).toEqual([layerStack]);
    });

    test('imports once per consumer stack, with the layer\'s runtime', () => {
      expect(again).toBe(imported);
      expect(imported.compatibleRuntimes).toEqual([lambda.Runtime.NODEJS_24_X]);
    });
  });

  test('rejects a consumer in another region', () => {
    const app = testApp();
    const layer = layerIn(new Stack(app, 'LayerStack', { env: { account: '111111111111', region: 'eu-west-1' } }));
    const fn = inlineFunction(new Stack(app, 'ApiStack', { env: { account: '111111111111', region: 'us-east-1' } }), 'Fn');
    expect(() => layer.layerVersionFor(fn)).toThrow(
      'LayerStack/Layer: ApiStack/Fn is in region us-east-1 but the layer is in region eu-west-1: SSM parameters and layer versions are regional and per account; create a DependencyLayer in ApiStack\'s environment');
  });

  test('accepts environment-agnostic stacks (account and region as tokens)', () => {
    const app = testApp();
    const layer = layerIn(new Stack(app, 'LayerStack'));
    const consumerStack = new Stack(app, 'ApiStack', { env: { region: 'eu-west-1' } });
    expect(Token.isUnresolved(Stack.of(layer).region)).toBe(true);
    expect(() => layer.layerVersionFor(inlineFunction(consumerStack, 'Fn'))).not.toThrow();
  });
});

describe('validateFunctionLayers', () => {
  const importedLayers = (stack: Stack, count: number) => Array.from({ length: count },
    (_, index) => lambda.LayerVersion.fromLayerVersionArn(stack, `Imported${index}`, `arn:aws:lambda:eu-west-1:111111111111:layer:other${index}:1`));

  test('rejects a layer built for another runtime', () => {
    const stack = testStack();
    const layer = layerIn(stack, { runtime: lambda.Runtime.NODEJS_22_X });
    const fn = inlineFunction(stack, 'Fn');
    expect(() => validateFunctionLayers(fn, [layer], lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64)).toThrow(
      'Test/Fn: the layer Test/Layer is built for runtime nodejs22.x but the function runs nodejs24.x: set the layer\'s runtime to nodejs24.x too, or run the function on nodejs22.x');
  });

  test('rejects a layer built for another architecture', () => {
    const stack = testStack();
    const layer = layerIn(stack);
    const fn = inlineFunction(stack, 'Fn', { architecture: lambda.Architecture.X86_64 });
    expect(() => validateFunctionLayers(fn, [layer], lambda.Runtime.NODEJS_24_X, lambda.Architecture.X86_64)).toThrow(
      'Test/Fn: the layer Test/Layer is built for architecture arm64 but the function runs on x86_64: set the layer\'s architecture to x86_64 too, or run the function on arm64');
  });

  test('rejects more than 5 layers in all, counting those already attached', () => {
    const stack = testStack();
    const layers = [layerIn(stack, {}, 'First'), layerIn(stack, {}, 'Second')];
    const fn = inlineFunction(stack, 'Fn', { layers: importedLayers(stack, 4) });
    expect(() => validateFunctionLayers(fn, layers, lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64)).toThrow(
      'Test/Fn: the function would use 6 layers (4 attached, 2 more: Test/First, Test/Second), but Lambda allows at most 5: merge dependency layers into one package.json or bundle some packages into the function');
  });

  test('accepts 5 layers and counts an attached dependency layer once', () => {
    const stack = testStack();
    const layers = [layerIn(stack, {}, 'First'), layerIn(stack, {}, 'Second')];
    const fn = inlineFunction(stack, 'Fn', { layers: [...importedLayers(stack, 3), layers[0].layerVersionFor(stack)] });
    expect(() => validateFunctionLayers(fn, layers, lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64)).not.toThrow();
  });

  test('counts a cross-stack dependency layer once when it is attached', () => {
    const app = testApp();
    const layer = layerIn(new Stack(app, 'LayerStack'));
    const consumerStack = new Stack(app, 'ApiStack');
    const fn = inlineFunction(consumerStack, 'Fn', { layers: importedLayers(consumerStack, 4) });
    fn.addLayers(layer.layerVersionFor(fn));
    expect(() => validateFunctionLayers(fn, [layer], lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64)).not.toThrow();
  });

  test('skips the count when the layer list is a token', () => {
    const stack = testStack();
    const fn = inlineFunction(stack, 'Fn');
    const arns = new CfnParameter(stack, 'LayerArns', { type: 'CommaDelimitedList' });
    (fn.node.defaultChild as lambda.CfnFunction).layers = Token.asList(Fn.split(',', Fn.join(',', arns.valueAsList)));
    const layers = ['A', 'B', 'C', 'D', 'E', 'F'].map(id => layerIn(stack, {}, id));
    expect(() => validateFunctionLayers(fn, layers, lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64)).not.toThrow();
  });

});

describe('validateFunctionLayers size check', () => {
  /** A zip whose content is 1,000 bytes under the limit: fine alone, too much with any layer. */
  const zipFile = path.join(temporaryDirectory(), 'code.zip');
  writeZipOfZeros(zipFile, 'index.js', DependencyLayer.MAX_UNZIPPED_BYTES - 1000);
  const bigFunction = (stack: Stack) => inlineFunction(stack, 'Fn', { code: lambda.Code.fromAsset(zipFile) });

  test('passes synth when the function\'s code alone stays under 250 MB', () => {
    const stack = testStack({ bundling: true });
    validateFunctionLayers(bigFunction(stack), [], lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64);
    expect(() => template(stack)).not.toThrow();
  });

  test('fails synth when a layer takes code and layers over 250 MB unzipped, listing each part', () => {
    const stack = testStack({ bundling: true });
    const layer = layerIn(stack, { packageDirectory: fixtureCopy(), offline: true });
    validateFunctionLayers(bigFunction(stack), [layer], lambda.Runtime.NODEJS_24_X, lambda.Architecture.ARM_64);
    const total = DependencyLayer.MAX_UNZIPPED_BYTES - 1000 + layer.unzippedSizeBytes()!;
    expect(() => template(stack)).toThrow(
      `the function and its layers unzip to 250.0 MB (${total} bytes), above Lambda's limit of 250 MB (262144000 bytes): `
      + `function code 250.0 MB, layer Test/Layer ${(layer.unzippedSizeBytes()! / 1024).toFixed(1)} KB; mark packages that a layer provides as externals`);
  });
});

/**
 * A real zip file with one deflated entry of `bytes` zeros: small on disk,
 * large unzipped, like a bundle that would break Lambda's limit.
 */
function writeZipOfZeros(file: string, name: string, bytes: number): void {
  const zeros = Buffer.alloc(bytes);
  const compressed = zlib.deflateRawSync(zeros, { level: 1 });
  const crc = zlib.crc32(zeros);
  const nameBytes = Buffer.from(name);
  const DOS_DATE_1980_01_01 = 0x21;
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(compressed.length, 18);
  local.writeUInt32LE(bytes, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(DOS_DATE_1980_01_01, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(compressed.length, 20);
  central.writeUInt32LE(bytes, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const centralStart = local.length + nameBytes.length + compressed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(centralStart, 16);
  fs.writeFileSync(file, Buffer.concat([local, nameBytes, compressed, central, nameBytes, end]));
}
