import * as fs from 'fs';
import * as path from 'path';
import { CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeInPacks } from './acknowledgements';
import { createExecutionRole } from './execution-role';
import { ManagedPolicyRole } from './managed-policy-role';
import { VpcPlacement } from './shared-function-policies';

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
  readonly handler: 'bootstrap' | 'custom-resource' | 'secret-rotation';
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

/** Construct id of the stack's custom resource function, a child of the stack like aws-cdk-lib's singleton providers. */
const CUSTOM_RESOURCE_FUNCTION_ID = 'CdkServerlessRdsCustomResources';

/**
 * Longest run of any handler behind the function: Lambda's limit. The
 * readiness and concurrency handlers stop waiting 30 s before it, and the
 * bootstrap it relays runs at most 14 minutes (its own timeout).
 */
const CUSTOM_RESOURCE_TIMEOUT = Duration.minutes(15);

export interface LibraryCustomResourceProps {
  /** The ResourceType the function dispatches on (lambda/custom-resource/handler). */
  readonly resourceType: string;
  readonly properties: { [key: string]: unknown };
  /** What the function needs for this resource: the permissions of the resource's own role, which the function assumes. */
  readonly permissions: iam.PolicyStatement[];
  /** Log settings of the function, used by the first resource of the stack. */
  readonly logRetention: logs.RetentionDays;
  readonly logEncryptionKey: kms.IKey;
}

/**
 * A custom resource of the library, answered by the stack's one custom
 * resource function (lambda/custom-resource/handler). The function runs
 * outside the VPC: CloudFormation invokes it asynchronously and it answers
 * the pre-signed URL itself; handlers that must run in the VPC are invoked
 * synchronously through it (see `createVpcHandler`).
 *
 * The permissions the function needs for this resource belong to a role of
 * the resource (`<id>Role`), whose trust policy names the function's role
 * alone; the resource passes its ARN as PermissionsRoleArn and the function
 * assumes it for each request (lambda/custom-resource/assume-role). Within
 * one account a trust policy that names a role lets that role assume it with
 * no policy on the caller, so the function's role lists none of these roles:
 * the function depends on nothing the resources point at (an alias, a
 * proxy, some of which come after other custom resources of the function),
 * and its role holds no policy per resource, whatever their number. The
 * resource is created after its role and deleted before it, so its Delete
 * still has the permissions.
 */
export function createLibraryCustomResource(scope: Construct, id: string, props: LibraryCustomResourceProps): CustomResource {
  const handler = CustomResourceFunction.of(scope, props);
  const role = new ManagedPolicyRole(scope, `${id}Role`, {
    assumedBy: new iam.ArnPrincipal(handler.role.roleArn),
    description: `Assumed by the stack's custom resource function for ${scope.node.path}/${id}`,
  });
  props.permissions.forEach(statement => role.addToPrincipalPolicy(statement));
  const resource = new CustomResource(scope, id, {
    serviceToken: handler.function.functionArn,
    resourceType: props.resourceType,
    properties: { ...props.properties, PermissionsRoleArn: role.roleArn },
  });
  resource.node.addDependency(role);
  return resource;
}

/** Log settings of the stack's custom resource function, taken from the first resource that creates it. */
interface CustomResourceLogSettings {
  readonly logRetention: logs.RetentionDays;
  readonly logEncryptionKey: kms.IKey;
}

/**
 * The stack's deploy-time functions, a child of the stack found by its fixed
 * id: the custom resource function (`Handler`) and the in-VPC handlers it
 * relays to (see `createVpcHandler`). Only CloudFormation's requests for the
 * library's custom resources set them running, and every failure of theirs
 * reaches CloudFormation; each of the rules that asks otherwise of a function
 * is acknowledged once here, for all of them.
 */
class CustomResourceFunction extends Construct {
  public static of(scope: Construct, settings: CustomResourceLogSettings): CustomResourceFunction {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(CUSTOM_RESOURCE_FUNCTION_ID);
    return existing instanceof CustomResourceFunction ? existing : new CustomResourceFunction(stack, settings);
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;

  private constructor(stack: Stack, settings: CustomResourceLogSettings) {
    super(stack, CUSTOM_RESOURCE_FUNCTION_ID);
    const created = createBundledFunction(this, {
      handler: 'custom-resource',
      description: 'Answers the cdk-serverless-rds custom resources of this stack: proxy readiness, function concurrency, the VPC\'s default security group, database bootstrap (relayed)',
      timeout: CUSTOM_RESOURCE_TIMEOUT,
      logRetention: settings.logRetention,
      logEncryptionKey: settings.logEncryptionKey,
      outsideVpcReason: 'The function only calls AWS APIs (STS AssumeRole, RDS DescribeDBProxyTargets, the Lambda API, EC2 Authorize/RevokeSecurityGroupIngress/Egress on the VPC\'s default security group) '
        + 'and CloudFormation\'s pre-signed response URL in S3; '
        + 'it never connects to the database, and the isolated subnets have no route to those APIs. The database bootstrap, which does, runs in the VPC and is invoked through it.',
    });
    this.function = created.function;
    this.role = created.role;
    acknowledgeInPacks(this, ['HIPAA.Security', 'NIST.800.53.R5'], 'LambdaConcurrency', 'Deploy-time functions: only CloudFormation invokes the custom resource function, '
      + 'once per change of the library\'s custom resources in the stack, and only that function invokes the in-VPC handlers, once per change of their resource, so their '
      + 'concurrency stays that small without a cap; a reservation would fail the deploy in an account whose concurrency limit leaves nothing to reserve '
      + '(new accounts start at 10, and Lambda keeps 100 unreserved).');
    acknowledgeInPacks(this, DEAD_LETTER_PACKS, 'LambdaDLQ', 'Deploy-time functions whose every failure reaches CloudFormation: it invokes the custom resource function '
      + 'asynchronously with a pre-signed URL for the answer, and the function answers every request itself, FAILED with its error (an in-VPC handler\'s included, '
      + 'which it invokes synchronously, where Lambda uses no dead-letter queue) or FAILED shortly before its own timeout, which fails the deployment with the reason in '
      + 'the stack events. Only a crash leaves a request unanswered; Lambda then runs it twice more, and CloudFormation fails the resource at the custom resource timeout. '
      + 'A dead-letter queue would only keep a copy of a request that nobody can answer or replay.');
  }
}

/**
 * A custom resource handler that must run in the VPC (it connects to the
 * database), hardened like the library's other functions (see
 * `createBundledFunction`), among the stack's deploy-time functions
 * (`<stack>/CdkServerlessRdsCustomResources/<scope path>-<id>`). It cannot
 * answer CloudFormation: the pre-signed response URL (S3) is out of reach
 * from isolated subnets, where a gateway endpoint would route it but its
 * security group could be opened to S3 only through the Region's prefix list
 * id, which CloudFormation cannot look up. The stack's custom resource
 * function invokes it synchronously and answers for it: give its resource
 * the function's ARN as HandlerArn and `invokePermission`
 * (lambda/custom-resource/relay).
 */
export function createVpcHandler(scope: Construct, id: string, options: BundledFunctionOptions & { readonly placement: VpcPlacement }): BundledFunction {
  const functions = CustomResourceFunction.of(scope, options);
  const stackPath = Stack.of(scope).node.path;
  const scopePath = scope.node.path.slice(stackPath.length + 1).split('/').join('-');
  return createBundledFunction(new Construct(functions, `${scopePath}-${id}`), options);
}

/** Invoke on exactly the handler, for the role the custom resource function assumes to relay to it (not its versions: the relay invokes the unqualified ARN). */
export function invokePermission(handler: lambda.IFunction): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [handler.functionArn] });
}

function createLogGroup(scope: Construct, id: string, options: BundledFunctionOptions): logs.LogGroup {
  return new logs.LogGroup(scope, id, { retention: options.logRetention, encryptionKey: options.logEncryptionKey });
}

function acknowledgeOutsideVpc(fn: lambda.Function, reason: string): void {
  acknowledgeInPacks(fn, ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'], 'LambdaInsideVPC', reason);
  Validations.of(fn).acknowledge({ id: 'cdk-validator-cfnguard::lambda_inside_vpc_check', reason });
}
