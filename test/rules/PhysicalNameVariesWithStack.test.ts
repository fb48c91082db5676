import { Aws, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { findingsOf, pathsFlagged } from './support';
import { testApp, testStack } from '../support/app';

const RULE = 'PhysicalNameVariesWithStack';

describe('DeployReadiness-PhysicalNameVariesWithStack', () => {
  test('passes names CloudFormation generates', () => {
    const stack = testStack();
    new logs.LogGroup(stack, 'Logs');
    new sqs.Queue(stack, 'Queue');
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a literal name, saying which property and why', () => {
    const stack = testStack();
    new logs.LogGroup(stack, 'Logs', { logGroupName: '/app/orders' });
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      path: 'Test/Logs/Resource',
      description: expect.stringContaining("LogGroupName '/app/orders' does not contain the stack name (Test) or anything else that differs between deployments"),
    })]);
  });

  test('passes a literal that contains the stack name, in any case', () => {
    const stack = new Stack(testApp(), 'Orders');
    new ssm.StringParameter(stack, 'Setting', { parameterName: '/orders/page-size', stringValue: '20' });
    new sqs.Queue(stack, 'Queue', { queueName: `${stack.stackName}-jobs` });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes names built from AWS::StackName, from AWS::StackId, or from another resource of the template', () => {
    const stack = testStack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    new logs.LogGroup(stack, 'ByName', { logGroupName: `/app/${Aws.STACK_NAME}` });
    new logs.LogGroup(stack, 'ById', { logGroupName: Fn.join('-', ['app', Fn.select(2, Fn.split('/', Aws.STACK_ID))]) });
    new logs.LogGroup(stack, 'ByResource', { logGroupName: `/app/${bucket.bucketName}` });
    new logs.LogGroup(stack, 'BySub', { logGroupName: Fn.sub('/app/${AWS::StackName}/x') });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags intrinsics that reference only parameters, other pseudo parameters or imports', () => {
    const stack = testStack();
    const environment = new CfnParameter(stack, 'Environment', { default: 'prod' }).valueAsString;
    new logs.LogGroup(stack, 'ByParameter', { logGroupName: `/app/${environment}` });
    new logs.LogGroup(stack, 'ByRegion', { logGroupName: `/app/${Aws.REGION}` });
    new logs.LogGroup(stack, 'BySub', { logGroupName: Fn.sub('/app/${Env}', { Env: environment }) });
    new logs.LogGroup(stack, 'ByImport', { logGroupName: Fn.importValue('shared-name') });
    expect(pathsFlagged(stack, RULE).sort()).toEqual(['Test/ByImport/Resource', 'Test/ByParameter/Resource', 'Test/ByRegion/Resource', 'Test/BySub/Resource']);
  });
});
