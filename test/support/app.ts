import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export const PROJECT_ROOT = path.join(__dirname, '..', '..');
export const HANDLER_ENTRY = path.join(PROJECT_ROOT, 'lambda', 'reference-api', 'handler.ts');
export const LOCK_FILE = path.join(PROJECT_ROOT, 'package-lock.json');

/** The context the CLI gives the reference app: cdk.json's feature flags and checks settings. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;
}

export interface TestAppOptions {
  /** Run esbuild for NodejsFunction assets (slow); off by default. */
  readonly bundling?: boolean;
  /** Extra context on top of cdk.json's. */
  readonly context?: Record<string, unknown>;
  /** Where the assembly goes. Default: a new folder in TMPDIR. */
  readonly outdir?: string;
  /**
   * Run aws-cdk-lib's CloudFormation rules at synth, as `cdk synth` does.
   * Default: on for `testApp`, off for `testStack` (see there).
   */
  readonly cloudFormationRules?: boolean;
}

/** An App with the same context as `cdk synth`, without bundling unless asked. */
export function testApp(options: TestAppOptions = {}): App {
  return new App({
    outdir: options.outdir,
    builtinCloudFormationValidation: options.cloudFormationRules ?? true,
    context: {
      ...cdkJsonContext(),
      ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
}

/**
 * A stack in a fresh test app, for fine-grained assertions on one
 * configuration. aws-cdk-lib's CloudFormation rules stay off unless asked
 * for: they take about a third of each synth, and the compliance tests run
 * them with every other check on each engine, network, bootstrap and Lambda
 * variant, the reference app and the imports (all built with `testApp`).
 */
export function testStack(options: TestAppOptions = {}): Stack {
  return new Stack(testApp({ cloudFormationRules: false, ...options }), 'Test');
}

/** Synthesize the stack's template (runs aspects and validations). */
export function template(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** The managed policy ARNs that roles attach without referencing a policy of the template: AWS managed (or foreign) ones. */
export function foreignManagedPolicyArns(t: Template): unknown[] {
  return Object.values(t.findResources('AWS::IAM::Role'))
    .flatMap(role => (role.Properties.ManagedPolicyArns ?? []) as unknown[])
    .filter(arn => !(typeof arn === 'object' && arn !== null && 'Ref' in arn));
}

/** The role a custom resource of the library passes as PermissionsRoleArn, for the stack's custom resource function to assume. */
export interface ResourcePermissions {
  readonly roleId: string;
  /** The statements of the role's trust policy. */
  readonly trust: unknown[];
  /** The role's own managed policies (logical ids) and their statements. */
  readonly policyIds: string[];
  readonly statements: any[];
}

export function resourcePermissions(t: Template, resource: { readonly Properties: { readonly PermissionsRoleArn: { readonly 'Fn::GetAtt': [string, string] } } }): ResourcePermissions {
  const roleId = resource.Properties.PermissionsRoleArn['Fn::GetAtt'][0];
  const policies = t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: roleId }] } });
  return {
    roleId,
    trust: t.toJSON().Resources[roleId].Properties.AssumeRolePolicyDocument.Statement,
    policyIds: Object.keys(policies),
    statements: Object.values(policies).flatMap(policy => policy.Properties.PolicyDocument.Statement),
  };
}

/** A plain Lambda function with inline code (no bundling), for functions the constructs do not create. */
export function inlineFunction(scope: Construct, id: string, props: Partial<lambda.FunctionProps> = {}): lambda.Function {
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
    ...props,
  });
}

/**
 * The values of a synthesized template (path and value) that come from
 * arithmetic on a token: a number token is encoded as a huge number near
 * -1.9e+289, so computing with it gives numbers no template ever holds.
 */
export function tokenArithmeticIn(value: unknown, path = ''): string[] {
  if (typeof value === 'number') {
    return Number.isFinite(value) && Math.abs(value) < 1e15 ? [] : [`${path}: ${value}`];
  }
  if (typeof value === 'string') {
    return /\de\+\d{2,}/.test(value) ? [`${path}: ${value}`] : [];
  }
  if (value === null || typeof value !== 'object') {
    return [];
  }
  return Object.entries(value).flatMap(([key, child]) => tokenArithmeticIn(child, `${path}/${key}`));
}
