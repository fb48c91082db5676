/**
 * The stack's one custom resource function (lib/private/custom-resource):
 * found by its fixed id, the ServiceToken of every custom resource of the
 * library in the stack, with one managed policy per resource.
 */
import { Stack } from 'aws-cdk-lib';
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

test('one function in the stack answers every custom resource of the library, each with a policy of its own', () => {
  const stack = testStack();
  addResources(stack, 2);
  const t = template(stack);
  const functions = Object.keys(t.findResources('AWS::Lambda::Function'));
  expect(functions).toEqual([expect.stringMatching(/^CdkServerlessRdsCustomResourcesHandler/)]);
  const resources = Object.values(t.findResources('Custom::ProxyTargetsAvailable'));
  expect(resources.map(resource => resource.Properties.ServiceToken)).toEqual([{ 'Fn::GetAtt': [functions[0], 'Arn'] }, { 'Fn::GetAtt': [functions[0], 'Arn'] }]);
  expect(resources.map(resource => resource.DependsOn)).toEqual([[expect.stringMatching(/^Check0Permissions/)], [expect.stringMatching(/^Check1Permissions/)]]);
});

test('fails synth when the resources need more managed policies than IAM\'s default quota per role, and not before', () => {
  const fitting = testStack();
  addResources(fitting, 8);
  expect(() => template(fitting)).not.toThrow();
  const stack = testStack();
  addResources(stack, 9);
  expect(() => template(stack)).toThrow('Test/CdkServerlessRdsCustomResources: the role of the stack\'s custom resource function needs 11 managed policies '
    + '(one for each of the 9 proxy readiness checks, database bootstraps and functions with provisioned concurrency of the stack, and its own), '
    + 'more than IAM\'s default quota of 10 per role: spread those databases and functions over more stacks');
});
