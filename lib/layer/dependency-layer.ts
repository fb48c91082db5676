import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, DockerImage, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { stagedAssetBytes } from '../private/asset-size';
import { parameterValueAtDeploy } from '../private/parameter-store';
import { PropValidationError, requireProps } from '../private/validation';

/**
 * Properties of a DependencyLayer.
 */
export interface DependencyLayerProps {
  /**
   * Folder holding `package.json` and its `package-lock.json` (lockfileVersion
   * 2 or 3). The layer holds the production `dependencies`, installed exactly
   * as the lockfile pins them.
   */
  readonly packageDirectory: string;

  /**
   * The Node.js runtime the layer is built for; functions using it must run
   * the same runtime.
   *
   * @default lambda.Runtime.NODEJS_24_X
   */
  readonly runtime?: lambda.Runtime;

  /**
   * The instruction set the layer is built for: npm installs the optional
   * platform packages of this architecture (linux, glibc).
   *
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;

  /**
   * Install only from the npm cache (`npm ci --offline`); the build fails when
   * a package is missing from the cache.
   *
   * @default false - prefer the cache and fetch what is missing (`--prefer-offline`)
   */
  readonly offline?: boolean;

  /**
   * Description of the layer versions. Changing it publishes a new layer
   * version even for the same lockfile.
   *
   * @default - names the package, runtime, architecture and lockfile hash
   */
  readonly description?: string;
}

/** Lambda's limit on a layer version's description. */
const MAX_DESCRIPTION_LENGTH = 256;
const LOCKFILE = 'package-lock.json';
const MANIFEST = 'package.json';
const NPM_CPU: { [architecture: string]: string } = { arm64: 'arm64', x86_64: 'x64' };
/** Where Lambda's Node.js runtimes look for modules in a layer (`/opt/nodejs/node_modules`). */
const LAYER_MODULES_DIRECTORY = path.join('nodejs', 'node_modules');
/** Lines of npm's stderr that a failed install shows. */
const NPM_ERROR_LINES = 20;

interface PackageManifest {
  readonly name?: string;
  readonly dependencies?: { [name: string]: string };
}

interface LockfileEntry {
  readonly dependencies?: { [name: string]: string };
  readonly dev?: boolean;
  readonly hasInstallScript?: boolean;
  readonly os?: string[];
  readonly cpu?: string[];
}

interface Lockfile {
  readonly lockfileVersion?: number;
  readonly packages?: { [location: string]: LockfileEntry };
}

/**
 * A Lambda layer with the production dependencies of a `package.json`,
 * installed from its lockfile under `nodejs/node_modules`, for one Node.js
 * runtime and architecture.
 *
 * The build runs `npm ci` on the machine that synthesizes (no Docker), from
 * the npm cache when it can. The layer's identity follows the lockfile: the
 * asset hash derives from `lockfileHash` alone, so the same lockfile gives the
 * same asset (nothing to rebuild or upload, no new layer version) and a
 * changed lockfile gives a new layer version.
 *
 * Old layer versions and their permissions are retained: functions that
 * still use an old version, in this or another account, keep working.
 */
export class DependencyLayer extends Construct {
  /** Lambda's limit on layers per function. */
  public static readonly MAX_LAYERS_PER_FUNCTION = 5;
  /** Lambda's limit on a function's unzipped code plus its layers, in bytes. */
  public static readonly MAX_UNZIPPED_BYTES = 250 * 1024 * 1024;

  /** The layer version (retained when replaced or deleted). */
  public readonly layerVersion: lambda.LayerVersion;
  /** The runtime the layer is built for. */
  public readonly runtime: lambda.Runtime;
  /** The architecture the layer is built for. */
  public readonly architecture: lambda.Architecture;
  /** Top-level dependency names from package.json (what functions mark as esbuild externals). */
  public readonly packages: string[];
  /**
   * SHA-256 over the lockfile bytes, package.json's dependencies, the runtime
   * and the architecture: the layer asset's hash is derived from it alone.
   */
  public readonly lockfileHash: string;

  private readonly packageName: string;
  private readonly importsByStack = new Map<Stack, lambda.ILayerVersion>();
  /** Name of the SSM parameter with the current version's ARN, once a stack outside this one uses the layer. */
  private arnParameterName?: string;

  constructor(scope: Construct, id: string, props: DependencyLayerProps) {
    super(scope, id);
    requireProps(this, props, { packageDirectory: 'the folder with the layer\'s package.json and package-lock.json' });
    this.runtime = props.runtime ?? lambda.Runtime.NODEJS_24_X;
    this.architecture = props.architecture ?? lambda.Architecture.ARM_64;
    const packageDirectory = path.resolve(props.packageDirectory);
    const { manifest, lockfileBytes } = this.validateAndReadPackage(props, packageDirectory);
    const dependencies = manifest.dependencies ?? {};
    this.packages = Object.keys(dependencies).sort();
    this.packageName = manifest.name ?? path.basename(packageDirectory);
    this.lockfileHash = crypto.createHash('sha256')
      .update(lockfileBytes)
      .update(JSON.stringify(this.packages.map(name => [name, dependencies[name]])))
      .update(`${this.runtime.name}/${this.architecture.name}`)
      .digest('hex');

    const npmArguments = [
      'ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', props.offline ? '--offline' : '--prefer-offline',
      // Pick the optional platform packages (prebuilt binaries) that Lambda runs, not the build machine's.
      '--os=linux', `--cpu=${NPM_CPU[this.architecture.name]}`, '--libc=glibc',
    ];
    this.layerVersion = new lambda.LayerVersion(this, 'Layer', {
      code: lambda.Code.fromAsset(packageDirectory, {
        assetHashType: AssetHashType.CUSTOM,
        assetHash: this.lockfileHash,
        bundling: {
          // Never pulled: local bundling always succeeds or throws.
          image: DockerImage.fromRegistry('dependency-layer-builds-locally'),
          local: { tryBundle: outputDir => this.install(packageDirectory, outputDir, npmArguments) },
        },
      }),
      compatibleRuntimes: [this.runtime],
      compatibleArchitectures: [this.architecture],
      description: props.description
        ?? `${this.packageName} dependencies for ${this.runtime.name} ${this.architecture.name}, lockfile sha256 ${this.lockfileHash}`,
      // Functions in other stacks or accounts may still use an old version (aws-cdk #15524).
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * Share the layer, for example with another account or an organization.
   * The permission is retained when the layer version is replaced or
   * deleted, so old versions keep it (aws-cdk #15524).
   */
  public addPermission(id: string, permission: lambda.LayerVersionPermission): void {
    this.layerVersion.addPermission(id, permission);
    (this.layerVersion.node.findChild(id) as lambda.CfnLayerVersionPermission).applyRemovalPolicy(RemovalPolicy.RETAIN);
  }

  /**
   * Unzipped size of the built layer in bytes.
   *
   * @returns undefined when bundling was skipped for this stack
   */
  public unzippedSizeBytes(): number | undefined {
    return stagedAssetBytes(this);
  }

  /**
   * The layer as `consumer` should reference it. In the layer's own stack,
   * the layer version itself. In another stack, the layer's ARN read from an
   * SSM parameter that this construct writes in its own stack (created on
   * first use), and the consumer's stack depends on the layer's stack.
   * CloudFormation exports would block every layer update ("export in use"),
   * so none is created.
   */
  public layerVersionFor(consumer: IConstruct): lambda.ILayerVersion {
    const layerStack = Stack.of(this);
    const consumerStack = Stack.of(consumer);
    if (consumerStack === layerStack) {
      return this.layerVersion;
    }
    const known = this.importsByStack.get(consumerStack);
    if (known) {
      return known;
    }
    this.requireSameEnvironment(consumer, layerStack, consumerStack);
    const parameterName = this.publishArn();
    const importId = `${Names.nodeUniqueId(this.node)}Layer`;
    // The description changes the consumer's template whenever the layer does, so diffs show it.
    const arn = parameterValueAtDeploy(consumerStack, `${importId}Arn`, parameterName, `ARN of the layer ${this.node.path} (lockfile sha256 ${this.lockfileHash})`);
    const imported = lambda.LayerVersion.fromLayerVersionAttributes(consumerStack, importId, {
      layerVersionArn: arn,
      compatibleRuntimes: [this.runtime],
    });
    consumerStack.addStackDependency(layerStack, `reads the ARN of ${this.node.path} from SSM parameter ${parameterName}`);
    this.importsByStack.set(consumerStack, imported);
    return imported;
  }

  private validateAndReadPackage(props: DependencyLayerProps, packageDirectory: string): { manifest: PackageManifest; lockfileBytes: Buffer } {
    if (this.runtime.family !== lambda.RuntimeFamily.NODEJS) {
      throw new PropValidationError(this, `runtime (${this.runtime.name}) is not a Node.js runtime: use lambda.Runtime.NODEJS_24_X`);
    }
    if (!NPM_CPU[this.architecture.name]) {
      throw new PropValidationError(this, `architecture (${this.architecture.name}) is not a Lambda architecture: use lambda.Architecture.ARM_64 or X86_64`);
    }
    if (props.description !== undefined && !Token.isUnresolved(props.description) && props.description.length > MAX_DESCRIPTION_LENGTH) {
      throw new PropValidationError(this,
        `description (${props.description.length} characters) is longer than Lambda's ${MAX_DESCRIPTION_LENGTH}: shorten it`);
    }
    for (const file of [MANIFEST, LOCKFILE]) {
      if (!fs.existsSync(path.join(packageDirectory, file))) {
        throw new PropValidationError(this,
          `packageDirectory (${props.packageDirectory}) has no ${file}: point it at the folder with package.json and create the lockfile there with \`npm install --package-lock-only\``);
      }
    }
    const lockfileBytes = fs.readFileSync(path.join(packageDirectory, LOCKFILE));
    const manifest = this.parseJson<PackageManifest>(props.packageDirectory, MANIFEST, fs.readFileSync(path.join(packageDirectory, MANIFEST)));
    const lockfile = this.parseJson<Lockfile>(props.packageDirectory, LOCKFILE, lockfileBytes);
    this.validateLockfile(props.packageDirectory, manifest, lockfile);
    return { manifest, lockfileBytes };
  }

  private parseJson<T>(packageDirectory: string, file: string, bytes: Buffer): T {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new PropValidationError(this, `${file} in packageDirectory (${packageDirectory}) is not valid JSON (${(error as Error).message}): fix or regenerate it`);
    }
  }

  private validateLockfile(packageDirectory: string, manifest: PackageManifest, lockfile: Lockfile): void {
    const where = `packageDirectory (${packageDirectory})`;
    const declared = manifest.dependencies ?? {};
    if (Object.keys(declared).length === 0) {
      throw new PropValidationError(this, `package.json in ${where} has no dependencies: add the packages the layer should hold to "dependencies"`);
    }
    if (lockfile.lockfileVersion !== 2 && lockfile.lockfileVersion !== 3) {
      throw new PropValidationError(this,
        `${LOCKFILE} in ${where} has lockfileVersion ${lockfile.lockfileVersion}, but the layer needs 2 or 3: regenerate it with npm 7 or later (\`npm install --package-lock-only\`)`);
    }
    const packages = lockfile.packages ?? {};
    const locked = packages['']?.dependencies ?? {};
    const names = [...new Set([...Object.keys(declared), ...Object.keys(locked)])].sort();
    const mismatches = names
      .filter(name => declared[name] !== locked[name])
      .map(name => `${name} (package.json: ${declared[name] ?? 'absent'}, lockfile: ${locked[name] ?? 'absent'})`);
    if (mismatches.length > 0) {
      throw new PropValidationError(this,
        `${LOCKFILE} in ${where} is out of sync with package.json for ${mismatches.join(', ')}: run \`npm install --package-lock-only\` there`);
    }
    const withInstallScripts = Object.entries(packages)
      .filter(([location, entry]) => location !== '' && entry.hasInstallScript && !entry.dev
        && platformAllows(entry.os, 'linux') && platformAllows(entry.cpu, NPM_CPU[this.architecture.name]))
      .map(([location]) => location.replace(/^.*node_modules\//, ''));
    if (withInstallScripts.length > 0) {
      throw new PropValidationError(this,
        `the lockfile in ${where} has packages with install scripts (${[...new Set(withInstallScripts)].sort().join(', ')}): `
        + 'the layer installs with --ignore-scripts because install scripts build native code for the build machine, not for Lambda (linux, '
        + `${this.architecture.name}); use packages that ship prebuilt binaries as optional dependencies, or build those in a Docker image instead`);
    }
  }

  /** Local bundling: `npm ci` straight into the asset's `nodejs` folder. */
  private install(packageDirectory: string, outputDir: string, npmArguments: string[]): boolean {
    const nodejsDirectory = path.join(outputDir, path.dirname(LAYER_MODULES_DIRECTORY));
    fs.mkdirSync(nodejsDirectory, { recursive: true });
    const inputs = [MANIFEST, LOCKFILE, '.npmrc'].filter(file => fs.existsSync(path.join(packageDirectory, file)));
    for (const file of inputs) {
      fs.copyFileSync(path.join(packageDirectory, file), path.join(nodejsDirectory, file));
    }
    const result = spawnSync('npm', npmArguments, {
      cwd: nodejsDirectory,
      // Explicit so that npm sees this process's environment as the caller set it (jest sandboxes process.env).
      env: process.env,
      encoding: 'utf8',
      shell: process.platform === 'win32',
    });
    if (result.error || result.status !== 0) {
      const stderr = (result.stderr ?? '').trim().split('\n').slice(-NPM_ERROR_LINES).join('\n');
      throw new PropValidationError(this,
        `npm ${npmArguments.join(' ')} failed in a copy of packageDirectory (${packageDirectory}) `
        + `(${result.error?.message ?? `exit code ${result.status}`}): fix the lockfile or the npm setup; `
        + `with offline: true every package must already be in the npm cache. npm said:\n${stderr}`);
    }
    // The layer holds node_modules only; npm's hidden lockfile would only repeat the lockfile (and .npmrc may hold credentials).
    for (const file of [...inputs, path.join('node_modules', '.package-lock.json')]) {
      fs.rmSync(path.join(nodejsDirectory, file), { force: true });
    }
    return true;
  }

  /**
   * Writes the current layer version's ARN to an SSM parameter (once) and
   * returns its name, a literal: a token would become a stack export again.
   */
  private publishArn(): string {
    if (!this.arnParameterName) {
      const stack = Stack.of(this);
      if (Token.isUnresolved(stack.stackName)) {
        throw new PropValidationError(this, 'the stack name is a token, so the SSM parameter that shares the layer ARN has no stable name: give the layer\'s stack a literal stackName');
      }
      this.arnParameterName = `/cdk-serverless-rds/layers/${stack.stackName}/${Names.nodeUniqueId(this.node)}`;
      new ssm.StringParameter(this, 'ArnParameter', {
        parameterName: this.arnParameterName,
        stringValue: this.layerVersion.layerVersionArn,
        description: `Current version of the layer ${this.node.path}, read by stacks that use it`,
      });
    }
    return this.arnParameterName;
  }

  private requireSameEnvironment(consumer: IConstruct, layerStack: Stack, consumerStack: Stack): void {
    for (const part of ['account', 'region'] as const) {
      const own = layerStack[part];
      const theirs = consumerStack[part];
      if (!Token.isUnresolved(own) && !Token.isUnresolved(theirs) && own !== theirs) {
        throw new PropValidationError(this,
          `${consumer.node.path} is in ${part} ${theirs} but the layer is in ${part} ${own}: SSM parameters and layer versions are regional and per account; create a DependencyLayer in ${consumerStack.stackName}'s environment`);
      }
    }
  }
}

/**
 * Whether a package's `os` or `cpu` list (as in package.json, `!` negates)
 * lets npm install it on `target`; packages for other platforms are skipped.
 */
function platformAllows(values: string[] | undefined, target: string): boolean {
  if (!values || values.length === 0 || values.includes(target)) {
    return true;
  }
  return !values.includes(`!${target}`) && values.every(value => value.startsWith('!'));
}
