import { Aws, CfnDeletionPolicy, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { findingsOf, pathsFlagged } from './support';
import { testStack } from '../support/app';

const RULE = 'RetainedNameVariesPerCreate';
const stackIdPart = () => Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));

describe('DeployReadiness-RetainedNameVariesPerCreate', () => {
  test('passes retained resources with generated names, and named resources that are deleted with the stack', () => {
    const stack = testStack();
    new logs.LogGroup(stack, 'Generated', { removalPolicy: RemovalPolicy.RETAIN });
    new logs.LogGroup(stack, 'Deleted', { logGroupName: '/app/orders', removalPolicy: RemovalPolicy.DESTROY });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a retained resource named after the stack name, which a new create of the stack reuses', () => {
    const stack = testStack();
    new logs.LogGroup(stack, 'Logs', { logGroupName: `/app/${Aws.STACK_NAME}`, removalPolicy: RemovalPolicy.RETAIN });
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      path: 'Test/Logs/Resource',
      description: expect.stringContaining('DeletionPolicy Retain keeps it when the stack is deleted, and LogGroupName {"Fn::Join"'),
    })]);
  });

  test('flags Snapshot and RetainExceptOnCreate too', () => {
    const stack = testStack();
    const policies = [CfnDeletionPolicy.SNAPSHOT, CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE];
    policies.forEach((policy, index) => {
      const group = new logs.LogGroup(stack, `Logs${index}`, { logGroupName: `/app/literal-${index}` });
      (group.node.defaultChild as logs.CfnLogGroup).cfnOptions.deletionPolicy = policy;
    });
    expect(pathsFlagged(stack, RULE).sort()).toEqual(['Test/Logs0/Resource', 'Test/Logs1/Resource']);
  });

  test('passes a retained resource named from the stack id, or from a resource that is named anew on every create', () => {
    const stack = testStack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    const fromId = new logs.LogGroup(stack, 'FromStackId', { logGroupName: Fn.join('', ['/app/', stackIdPart()]), removalPolicy: RemovalPolicy.RETAIN });
    new logs.LogGroup(stack, 'FromBucket', { logGroupName: `/app/${bucket.bucketName}`, removalPolicy: RemovalPolicy.RETAIN });
    new logs.LogGroup(stack, 'FromNamedFromStackId', { logGroupName: `${fromId.logGroupName}/child`, removalPolicy: RemovalPolicy.RETAIN });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a retained resource named from a resource whose own name is fixed', () => {
    const stack = testStack();
    const fixed = new logs.LogGroup(stack, 'Fixed', { logGroupName: '/app/fixed', removalPolicy: RemovalPolicy.DESTROY });
    new logs.LogGroup(stack, 'Derived', { logGroupName: `${fixed.logGroupName}/child`, removalPolicy: RemovalPolicy.RETAIN });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Derived/Resource']);
  });
});
