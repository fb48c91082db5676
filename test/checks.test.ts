import { CfnResource, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { addChecks } from '../bin/checks';
import { inlineFunction, testApp } from './support/app';
import { findings, synthWithChecks } from './support/checks';

describe('addChecks', () => {
  test('attaches every pack: a careless stack fails each of them', () => {
    const app = testApp({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const stack = new Stack(app, 'Careless');
    new sqs.Queue(stack, 'Queue');
    inlineFunction(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_20_X });
    // Out of the range CloudFormation allows (60 to 1,209,600 seconds).
    new CfnResource(stack, 'ShortRetention', { type: 'AWS::SQS::Queue', properties: { MessageRetentionPeriod: 5 } });
    addChecks(app);

    const reported = findings(synthWithChecks(app));
    const plugins = new Set(reported.map(line => line.split(':')[0]));
    expect([...plugins].sort()).toEqual([
      'AwsSolutions', 'CloudFormation Validate', 'HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321', 'Serverless', 'cdk-validator-cfnguard',
    ]);
    expect(reported).toEqual(expect.arrayContaining([
      'AwsSolutions: AwsSolutions-SQS4 at Careless/Queue/Resource',
      'Serverless: Serverless-LambdaTracing at Careless/Fn/Resource',
      'cdk-validator-cfnguard: lambda_inside_vpc_check at Careless/Fn/Resource',
    ]));
  });

  test('fails synth by default when a check finds something', () => {
    const app = testApp();
    new sqs.Queue(new Stack(app, 'Careless'), 'Queue');
    addChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });
});
