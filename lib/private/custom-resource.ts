import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeInPacks } from './acknowledgements';
import { createExecutionRole, VpcPlacement } from './execution-role';
import { attachXrayPolicy } from './managed-policy-role';

/**
 * The library's handlers, bundled with esbuild when the library is built
 * (`npm run build`), so apps that use the constructs need no bundler. The
 * path is the same from `lib/private` (sources) and `dist/private` (compiled).
 */
const HANDLERS_ROOT = path.join(__dirname, '..', '..', 'dist', 'handlers');

/** The packs whose LambdaDLQ rule asks every function for a dead-letter queue. */
const DEAD_LETTER_PACKS = ['Serverless', 'HIPAA.Security', 'NIST.800.53.R5'];

export interface BundledFunctionOptions {
  /** Folder of the pre-bundled handler under dist/handlers. */
  readonly handler: 'bootstrap' | 'proxy-readiness' | 'function-concurrency' | 'secret-rotation';
  readonly description: string;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly logEncryptionKey: kms.IKey;
  readonly placement?: VpcPlacement;
  readonly environment?: { [key: string]: string };
  /** Why running outside a VPC is right for this handler (required without a placement). */
  readonly outsideVpcReason?: string;
}

/** One of the library's pre-bundled handlers and its execution role. */
export interface BundledFunction {
  readonly function: lambda.Function;
  readonly role: iam.Role;
}

/** A custom resource handler and the ServiceToken its custom resources use. */
export interface CustomResourceHandler extends BundledFunction {
  readonly serviceToken: string;
}

/**
 * One of the library's pre-bundled handlers in `scope`, hardened like the
 * library's other functions: arm64 on the newest Node.js runtime, a
 * least-privilege role, X-Ray, JSON logs in an encrypted log group with
 * retention. It reserves no concurrency: a reservation fails to deploy in
 * accounts whose limit leaves none.
 */
export function createBundledFunction(scope: Construct, options: BundledFunctionOptions): BundledFunction {
  const codePath = path.join(HANDLERS_ROOT, options.handler);
  if (!fs.existsSync(path.join(codePath, 'index.js'))) {
    throw new Error(`${scope.node.path}: the pre-bundled ${options.handler} handler is missing at ${codePath}: run 'npm run build' in the cdk-serverless-rds package`);
  }
  const handlerLogGroup = createLogGroup(scope, 'HandlerLogGroup', options);
  const role = createExecutionRole(scope, 'HandlerRole', handlerLogGroup, options.placement);
  const handler = new lambda.Function(scope, 'Handler', {
    code: lambda.Code.fromAsset(codePath),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout: options.timeout,
    description: options.description,
    role,
    logGroup: handlerLogGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    tracing: lambda.Tracing.ACTIVE,
    environment: options.environment,
    ...options.placement ? {
      vpc: options.placement.vpc,
      vpcSubnets: options.placement.subnets,
      securityGroups: [options.placement.securityGroup],
    } : {},
  });
  if (!options.placement) {
    acknowledgeOutsideVpc(handler, options.outsideVpcReason ?? '');
  }
  return { function: handler, role };
}

/**
 * The handlers that answer CloudFormation themselves (their bundles wrap the
 * handler in `answeringCloudFormation`): they run outside the VPC, where the
 * pre-signed S3 response URL is reachable.
 */
const SELF_ANSWERING_HANDLERS: ReadonlySet<BundledFunctionOptions['handler']> = new Set(['proxy-readiness', 'function-concurrency']);

/**
 * A custom resource handler, hardened like the library's other functions
 * (see `createBundledFunction`). It reserves no concurrency: CloudFormation
 * invokes it once per resource change.
 *
 * A handler outside the VPC is the ServiceToken itself: CloudFormation
 * invokes it asynchronously and it answers the pre-signed URL, so no other
 * function is involved. A handler in the VPC cannot reach that URL (S3)
 * from isolated subnets: a gateway endpoint would route it, but its security
 * group could only be opened to S3 through the Region's prefix list id,
 * which CloudFormation cannot look up. It stays behind aws-cdk-lib's
 * provider framework, which runs outside the VPC and answers for it.
 */
export function createCustomResourceHandler(scope: Construct, id: string, options: BundledFunctionOptions): CustomResourceHandler {
  const selfAnswering = SELF_ANSWERING_HANDLERS.has(options.handler);
  if (selfAnswering === (options.placement !== undefined)) {
    throw new Error(`${scope.node.path}/${id}: the ${options.handler} handler ${selfAnswering ? 'answers CloudFormation itself and must run outside the VPC' : 'runs in the VPC behind the provider framework and needs a placement'}`);
  }
  const container = new Construct(scope, id);
  const { function: handler, role } = createBundledFunction(container, options);
  acknowledgeNoReservation(container);
  if (selfAnswering) {
    acknowledgeInPacks(handler, DEAD_LETTER_PACKS, 'LambdaDLQ', 'CloudFormation invokes this handler asynchronously with a pre-signed URL for the '
      + 'answer, and the handler answers every request itself: FAILED with its error, or FAILED shortly before its own timeout, which fails the '
      + 'deployment with the reason in the stack events. Only a crash leaves a request unanswered; Lambda then runs it twice more, and CloudFormation '
      + 'fails the resource at the custom resource timeout. A dead-letter queue would only keep a copy of a request that nobody can answer or replay.');
    return { function: handler, role, serviceToken: handler.functionArn };
  }

  acknowledgeInPacks(handler, DEAD_LETTER_PACKS, 'LambdaDLQ', 'The provider framework invokes this handler synchronously (RequestResponse) and '
    + 'answers CloudFormation with its error, which fails the deployment. Lambda sends only asynchronous invocations to a dead-letter queue, '
    + 'so one would stay empty.');
  const frameworkLogGroup = createLogGroup(container, 'ProviderLogGroup', options);
  const frameworkRole = createExecutionRole(container, 'ProviderRole', frameworkLogGroup);
  const provider = new cr.Provider(container, 'Provider', {
    onEventHandler: handler,
    frameworkOnEventRole: frameworkRole,
    logGroup: frameworkLogGroup,
  });
  const framework = provider.node.findChild('framework-onEvent') as lambda.Function;
  const cfnFramework = framework.node.defaultChild as lambda.CfnFunction;
  cfnFramework.tracingConfig = { mode: 'Active' };
  cfnFramework.architectures = [lambda.Architecture.ARM_64.name];
  cfnFramework.memorySize = 256;
  attachXrayPolicy(frameworkRole);
  Validations.of(frameworkRole).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(handler).getLogicalId(handler.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
    reason: 'aws-cdk-lib\'s provider framework grants invoke on the handler and its versions (the :* suffix); it invokes only this one function.',
  });
  acknowledgeInPacks(framework, DEAD_LETTER_PACKS, 'LambdaDLQ', 'CloudFormation invokes the provider framework asynchronously, with a pre-signed '
    + 'URL for the answer. The framework catches the handler\'s errors and answers FAILED with them, which fails the deployment. If the framework '
    + 'itself fails (a timeout or a crash), Lambda retries the event twice, and CloudFormation fails the resource when no answer arrives within '
    + 'the custom resource timeout (one hour by default): the deployment reports the failure and the framework\'s log group keeps the error. '
    + 'A dead-letter queue would only add a copy of an event that nobody answers or replays.');
  acknowledgeOutsideVpc(framework, 'The provider framework only calls the Lambda API and CloudFormation\'s pre-signed response URL; it never reaches the database, and the isolated subnets have no route to either.');
  return { function: handler, role, serviceToken: provider.serviceToken };
}

function createLogGroup(scope: Construct, id: string, options: BundledFunctionOptions): logs.LogGroup {
  return new logs.LogGroup(scope, id, { retention: options.logRetention, encryptionKey: options.logEncryptionKey });
}

/** For the functions in `container` (the handler, and the provider framework when there is one). */
function acknowledgeNoReservation(container: Construct): void {
  acknowledgeInPacks(container, ['HIPAA.Security', 'NIST.800.53.R5'], 'LambdaConcurrency',
    'Only CloudFormation\'s custom resource requests invoke these functions (directly or through the provider framework), one per change of their resources, so their concurrency stays that small without a cap; a reservation would fail the deploy '
    + 'in an account whose concurrency limit leaves nothing to reserve (new accounts start at 10, and Lambda keeps 100 unreserved).');
}

function acknowledgeOutsideVpc(fn: lambda.Function, reason: string): void {
  acknowledgeInPacks(fn, ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'], 'LambdaInsideVPC', reason);
  Validations.of(fn).acknowledge({ id: 'cdk-validator-cfnguard::lambda_inside_vpc_check', reason });
}
