import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { createExecutionRole } from '../lib/private/execution-role';
import { MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_MAX_CHARS, ManagedPolicyRole } from '../lib/private/managed-policy-role';
import { inlineFunction, template, testStack } from './support/app';

function lambdaRole(stack: Stack, id = 'Role'): ManagedPolicyRole {
  return new ManagedPolicyRole(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
}

function grantQueues(stack: Stack, role: iam.IRole, count: number): void {
  for (let i = 0; i < count; i++) {
    new sqs.Queue(stack, `Queue${i}`, { enforceSSL: true }).grantConsumeMessages(role);
  }
}

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;

function managedPolicies(resources: Resources): Array<[string, { Type: string; Properties: Record<string, any> }]> {
  return Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::IAM::ManagedPolicy');
}

/**
 * The document as IAM stores it in the worst case: every queue ARN as long as
 * a queue name allows (80 characters) in the Region and partition with the
 * longest names, without whitespace.
 */
function longestDeployedChars(document: unknown): number {
  const longestQueueArn = `arn:aws-us-gov:sqs:us-gov-west-1:123456789012:${'q'.repeat(80)}`;
  const resolve = (node: any): any => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    if (node['Fn::GetAtt']) return longestQueueArn;
    if (node.Ref === 'AWS::Partition') return 'aws-us-gov';
    if (node.Ref === 'AWS::Region') return 'us-gov-west-1';
    if (node.Ref === 'AWS::AccountId') return '123456789012';
    if (node['Fn::Join']) return (node['Fn::Join'][1] as unknown[]).map(resolve).join(node['Fn::Join'][0]);
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolve(value)]));
  };
  return JSON.stringify(resolve(document)).length;
}

describe('ManagedPolicyRole', () => {
  test('puts grants into a customer managed policy of its own, named by CloudFormation', () => {
    const stack = testStack();
    const role = lambdaRole(stack);
    grantQueues(stack, role, 1);
    const t = template(stack);
    t.resourceCountIs('AWS::IAM::Policy', 0);
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: Match.absent(),
      Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['sqs:ReceiveMessage']) })] },
    });
    t.hasResourceProperties('AWS::IAM::Role', { Policies: Match.absent() });
  });

  test('splits 40 grants on distinct queues over managed policies that each fit IAM\'s limit, within the per-role quota', () => {
    const stack = testStack();
    const role = lambdaRole(stack);
    grantQueues(stack, role, 40);
    const fn = inlineFunction(stack, 'Function', { role });
    const resources = template(stack).toJSON().Resources as Resources;
    const policies = managedPolicies(resources);

    expect(policies.length).toBeGreaterThan(1);
    expect(policies.length).toBeLessThanOrEqual(MANAGED_POLICIES_PER_ROLE);
    for (const [, policy] of policies) {
      expect(JSON.stringify(policy.Properties.PolicyDocument).length).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
      expect(longestDeployedChars(policy.Properties.PolicyDocument)).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
    }
    const granted = policies.flatMap(([, policy]) => (policy.Properties.PolicyDocument.Statement as Array<{ Resource: unknown }>)
      .flatMap(statement => [statement.Resource].flat().map(resource => JSON.stringify(resource))));
    expect(new Set(granted).size).toBe(40);
    // The function is created only after every policy of its role is attached.
    const fnResource = resources[stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)];
    expect(fnResource.DependsOn).toEqual(expect.arrayContaining(policies.map(([id]) => id)));
  });

  test('splits the same way on every synth', () => {
    const split = () => {
      const stack = testStack();
      grantQueues(stack, lambdaRole(stack), 40);
      return managedPolicies(template(stack).toJSON().Resources as Resources);
    };
    expect(split()).toEqual(split());
  });

  test('fails synth when a role needs more managed policies than IAM\'s default quota', () => {
    const stack = testStack();
    const role = lambdaRole(stack);
    grantQueues(stack, role, 200);
    const own = role.node.children.filter(child => child instanceof iam.ManagedPolicy).length;
    expect(own).toBeGreaterThan(MANAGED_POLICIES_PER_ROLE);
    expect(() => template(stack)).toThrow(`Test/Role needs ${own} managed policies (${own} of its own, 0 shared), more than IAM's default quota of 10 per role: `
      + 'grant on fewer, broader resources (one grant per table or queue group instead of one per item) or split the work over several functions');
  });

  test('throws when one statement is larger than a managed policy holds', () => {
    const stack = testStack();
    const role = lambdaRole(stack);
    const statement = new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: Array.from({ length: 100 }, (_, i) => `arn:aws:s3:::a-bucket-with-a-long-name/and/a/long/prefix/${i}/*`),
    });
    const chars = JSON.stringify(statement.toStatementJson()).length;
    expect(() => role.addToPrincipalPolicy(statement)).toThrow(`Test/Role: one policy statement takes up to ${chars} characters once deployed, `
      + 'more than a managed policy holds (6144): split it into statements on fewer resources');
  });

  test('sends the active tracing statement to the stack\'s one X-Ray policy', () => {
    const stack = testStack();
    const roles = [lambdaRole(stack, 'RoleA'), lambdaRole(stack, 'RoleB')];
    roles.forEach((role, i) => inlineFunction(stack, `Function${i}`, { role, tracing: lambda.Tracing.ACTIVE }));
    const t = template(stack);
    const xray = t.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { PolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' })] }) },
    });
    expect(Object.keys(xray)).toHaveLength(1);
    const xrayId = Object.keys(xray)[0];
    expect(xray[xrayId].Properties.Roles).toBeUndefined();
    for (const role of roles) {
      const roleResource = t.toJSON().Resources[stack.getLogicalId(role.node.defaultChild as iam.CfnRole)];
      expect(roleResource.Properties.ManagedPolicyArns).toEqual([{ Ref: xrayId }]);
      expect(role.node.children.some(child => child instanceof iam.ManagedPolicy)).toBe(false);
    }
  });
});

describe('createExecutionRole', () => {
  test('attaches one shared Hyperplane ENI policy that covers every placement once', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const groups = [new ec2.SecurityGroup(stack, 'GroupA', { vpc }), new ec2.SecurityGroup(stack, 'GroupB', { vpc })];
    const placements = [groups[0], groups[0], groups[1]].map(securityGroup => ({ vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroup }));
    const roles = placements.map((placement, i) => createExecutionRole(stack, `Role${i}`, new logs.LogGroup(stack, `Logs${i}`), placement));
    const t = template(stack);

    const eni = t.findResources('AWS::IAM::ManagedPolicy', {
      Properties: { PolicyDocument: Match.objectLike({ Statement: Match.arrayWith([Match.objectLike({ Sid: 'CreateHyperplaneEnisInFunctionPlacements' })]) }) },
    });
    expect(Object.keys(eni)).toHaveLength(1);
    const [eniId] = Object.keys(eni);
    const create = eni[eniId].Properties.PolicyDocument.Statement.find((statement: { Sid?: string }) => statement.Sid === 'CreateHyperplaneEnisInFunctionPlacements');
    // network-interface/*, two subnets and two security groups, each once.
    expect(create.Resource).toHaveLength(5);
    for (const role of roles) {
      const roleResource = t.toJSON().Resources[stack.getLogicalId(role.node.defaultChild as iam.CfnRole)];
      expect(roleResource.Properties.ManagedPolicyArns).toEqual([{ Ref: eniId }]);
    }
  });
});
