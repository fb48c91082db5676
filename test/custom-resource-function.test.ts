/**
 * The stack's one custom resource function (lib/private/custom-resource):
 * found by its fixed id, the ServiceToken of every custom resource of the
 * library in the stack, each resource with a role of its own that only the
 * function's role may assume.
 */
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { createLibraryCustomResource } from '../lib/private/custom-resource';
import { template, testStack } from './support/app';

function addResources(stack: Stack, count: number): void {
  const logEncryptionKey = new kms.Key(stack, 'LogKey', { enableKeyRotation: true });
  for (let i = 0; i < count; i++) {
    createLibraryCustomResource(stack, `Check${i}`, {
      resourceType: 'Custom::ProxyTargetsAvailable',
      properties: { ProxyName: `proxy-${i}`, TargetGroupName: 'default' },
      permissions: [new iam.PolicyStatement({ actions: ['rds:DescribeDBProxyTargets'], resources: [`arn:aws:rds:eu-west-1:123456789012:db-proxy:prx-${i}`] })],
      logRetention: logs.RetentionDays.ONE_YEAR,
      logEncryptionKey,
    });
  }
}

test('one function in the stack answers every custom resource of the library, each passing a role of its own that the resource depends on', () => {
  const stack = testStack();
  addResources(stack, 2);
  const t = template(stack);
  const functions = Object.keys(t.findResources('AWS::Lambda::Function'));
  expect(functions).toEqual([expect.stringMatching(/^CdkServerlessRdsCustomResourcesHandler/)]);
  const resources = Object.values(t.findResources('Custom::ProxyTargetsAvailable'));
  expect(resources.map(resource => resource.Properties.ServiceToken)).toEqual([{ 'Fn::GetAtt': [functions[0], 'Arn'] }, { 'Fn::GetAtt': [functions[0], 'Arn'] }]);
  expect(resources.map(resource => resource.Properties.PermissionsRoleArn)).toEqual([
    { 'Fn::GetAtt': [expect.stringMatching(/^Check0Role/), 'Arn'] }, { 'Fn::GetAtt': [expect.stringMatching(/^Check1Role/), 'Arn'] },
  ]);
  resources.forEach((resource, i) => {
    const role = resource.Properties.PermissionsRoleArn['Fn::GetAtt'][0];
    const policy = Object.keys(t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: role }] } }));
    expect(policy).toEqual([expect.stringMatching(new RegExp(`^Check${i}RolePolicy1`))]);
    expect(resource.DependsOn).toEqual(expect.arrayContaining([role, ...policy]));
  });
});

test('the role of each resource trusts exactly the role of the stack\'s custom resource function, and holds only that resource\'s permissions', () => {
  const stack = testStack();
  addResources(stack, 1);
  const t = template(stack);
  const [functionRole] = Object.keys(t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] } } }));
  expect(functionRole).toMatch(/^CdkServerlessRdsCustomResourcesHandlerRole/);
  const [[resourceRoleId, resourceRole]] = Object.entries(t.findResources('AWS::IAM::Role', { Properties: { Description: 'Assumed by the stack\'s custom resource function for Test/Check0' } }));
  expect(resourceRole.Properties.AssumeRolePolicyDocument.Statement).toEqual([
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': [functionRole, 'Arn'] } } },
  ]);
  const [policy] = Object.values(t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: resourceRoleId }] } }));
  expect(policy.Properties.PolicyDocument.Statement).toEqual([
    { Action: 'rds:DescribeDBProxyTargets', Effect: 'Allow', Resource: 'arn:aws:rds:eu-west-1:123456789012:db-proxy:prx-0' },
  ]);
  const functionPolicies = t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: Match.arrayWith([{ Ref: functionRole }]) } });
  expect(Object.keys(functionPolicies).length).toBeGreaterThan(0);
  expect(JSON.stringify(functionPolicies)).not.toMatch(/sts:AssumeRole|Check0Role/);
});

test('a stack with more custom resources than a role holds managed policies synthesizes: the function\'s role holds none of theirs', () => {
  const stack = testStack();
  addResources(stack, 12);
  const t = template(stack);
  expect(Object.keys(t.findResources('Custom::ProxyTargetsAvailable'))).toHaveLength(12);
  expect(Object.keys(t.findResources('AWS::IAM::Role'))).toHaveLength(13);
});
