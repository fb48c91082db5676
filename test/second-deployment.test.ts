import { randomUUID } from 'crypto';
import { CfnResource, Stack, Stage } from 'aws-cdk-lib';
import { buildReferenceApp } from '../bin/reference-app';
import { physicalNameOf } from '../lib/rules/private/physical-names';
import { testApp } from './support/app';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

/** One deployed stack: its name and the id CloudFormation gives it on create. */
interface Deployment {
  readonly stackName: string;
  readonly stackId: string;
}

/**
 * The value CloudFormation gives a resolved template value in `deployment`,
 * for the intrinsics that names use. A reference to a resource of the
 * template stands for that resource's own physical id, which CloudFormation
 * generates per stack.
 */
function evaluate(value: unknown, deployment: Deployment): string {
  if (typeof value === 'string' || typeof value === 'number') {
    return String(value);
  }
  const record = (value ?? {}) as Record<string, any>;
  const pseudo: Record<string, string> = {
    'AWS::StackName': deployment.stackName, 'AWS::StackId': deployment.stackId, 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT,
    'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com',
  };
  if (typeof record.Ref === 'string') {
    return pseudo[record.Ref] ?? `${deployment.stackId}/${record.Ref}`;
  }
  if (record['Fn::GetAtt']) {
    return `${deployment.stackId}/${record['Fn::GetAtt'].join('.')}`;
  }
  if (record['Fn::Join']) {
    const [separator, parts] = record['Fn::Join'];
    return evaluateList(parts, deployment).join(separator);
  }
  if (record['Fn::Select']) {
    const [index, list] = record['Fn::Select'];
    return evaluateList(list, deployment)[Number(evaluate(index, deployment))];
  }
  if (record['Fn::Sub'] !== undefined) {
    const [text, variables] = Array.isArray(record['Fn::Sub']) ? record['Fn::Sub'] : [record['Fn::Sub'], {}];
    return String(text).replace(/\$\{([^!}][^}]*)\}/g, (_whole: string, name: string) =>
      evaluate(name in variables ? variables[name] : name.includes('.') ? { 'Fn::GetAtt': name.split('.') } : { Ref: name }, deployment));
  }
  throw new Error(`no evaluation for ${JSON.stringify(value)}`);
}

function evaluateList(value: unknown, deployment: Deployment): string[] {
  const record = (value ?? {}) as Record<string, any>;
  if (record['Fn::Split']) {
    const [separator, text] = record['Fn::Split'];
    return evaluate(text, deployment).split(separator);
  }
  return (value as unknown[]).map(item => evaluate(item, deployment));
}

/** Every explicit physical name of the app's templates, as "<resource type> <name>" in one deployment of each stack. */
function physicalNames(stage: Stage): string[] {
  stage.synth();
  const stacks = stage.node.findAll().filter((c): c is Stack => c instanceof Stack);
  const deployments = new Map(stacks.map(stack => [stack, {
    stackName: stack.stackName,
    stackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${stack.stackName}/${randomUUID()}`,
  }]));
  return stage.node.findAll()
    .filter(CfnResource.isCfnResource)
    .flatMap(resource => {
      const name = physicalNameOf(resource);
      return name ? [`${resource.cfnResourceType} ${evaluate(name.value, deployments.get(Stack.of(resource))!)}`] : [];
    });
}

describe('a second deployment of the reference app beside the first', () => {
  const first = testApp();
  buildReferenceApp(first, { checks: false });
  const second = testApp();
  const staging = buildReferenceApp(second, { checks: false, stage: 'staging' });

  test('its stacks are named with the stage', () => {
    expect([staging.layer, staging.api, staging.worker, staging.monitoring].map(stack => stack.stackName))
      .toEqual(['ReferenceLayer-staging', 'ReferenceApi-staging', 'ReferenceWorker-staging', 'ReferenceMonitoring-staging']);
  });

  test('no template holds a nested stack or a SAM application, whose names no check of ours would see', () => {
    const nested = [first, second].flatMap(app => app.node.findAll().filter(CfnResource.isCfnResource))
      .filter(resource => ['AWS::CloudFormation::Stack', 'AWS::Serverless::Application'].includes(resource.cfnResourceType))
      .map(resource => resource.node.path);
    expect(nested).toEqual([]);
  });

  test('shares no explicit physical name with the first, so both deploy into one account and Region', () => {
    const firstNames = physicalNames(first);
    const secondNames = physicalNames(second);
    expect(firstNames.length).toBeGreaterThan(10);
    expect(secondNames.length).toBe(firstNames.length);
    expect(firstNames.filter(name => secondNames.includes(name))).toEqual([]);
  });

  test('the database, proxy and their retained log groups get new names when a destroyed stack is created again', () => {
    const names = physicalNames(first);
    const again = physicalNames(first);
    const retained = names.filter(name => /^AWS::(Logs::LogGroup|RDS::DBCluster|RDS::DBProxy) /.test(name));
    expect(retained.length).toBeGreaterThanOrEqual(4);
    expect(retained.filter(name => again.includes(name))).toEqual([]);
  });
});
