import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { CfnResource, IPolicyValidationContext, PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { addChecks, ControlTowerGuardRules } from '../bin/checks';
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

describe('ControlTowerGuardRules', () => {
  /** Templates with findings of several Control Tower rules, and resource types that most rules do not name. */
  function validationContext(): IPolicyValidationContext {
    const app = testApp({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
    const careless = new Stack(app, 'Careless');
    new sqs.Queue(careless, 'Queue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    const fn = inlineFunction(careless, 'Fn', {});
    fn.addPermission('Anyone', { principal: new iam.ServicePrincipal('s3.amazonaws.com') });
    new kms.Key(careless, 'Key', { enableKeyRotation: true });
    new CfnResource(new Stack(app, 'Topics'), 'Topic', { type: 'AWS::SNS::Topic', properties: {} });
    const assembly = app.synth();
    const stackTemplates = assembly.stacks.map(stack => ({
      stackConstructPath: stack.hierarchicalId, templatePath: path.join(assembly.directory, stack.templateFile), accountId: undefined, region: undefined,
    }));
    return { templatePaths: stackTemplates.map(stack => stack.templatePath), stackTemplates, appConstruct: app };
  }

  test('reports exactly what cfn-guard reports with every Control Tower rule, from only the rule files that name a type of the templates', () => {
    const context = validationContext();
    const execGuard = jest.spyOn(CfnGuardValidator.prototype as any, 'execGuard');
    const all = new CfnGuardValidator({ controlTowerRulesEnabled: true }).validate(context);
    const filtered = new ControlTowerGuardRules().validate(context);
    const byRule = (report: Pick<PolicyValidationPluginReport, 'violations'>) => report.violations.map(violation => `${violation.ruleName} at ${violation.violatingResources.map(resource => `${resource.templatePath}:${resource.resourceLogicalId}`).sort().join(', ')}`).sort();

    expect(byRule(all).length).toBeGreaterThanOrEqual(3);
    expect(byRule(filtered)).toEqual(byRule(all));
    expect(filtered.success).toBe(all.success);
    const ruleCounts = execGuard.mock.calls.map(([config]) => (config as { rulePaths: string[] }).rulePaths.length);
    // The full run passes the rules folder itself; the filtered one a fraction of its files.
    expect(ruleCounts[0]).toBe(1);
    expect(ruleCounts[1]).toBeGreaterThan(0);
    expect(ruleCounts[1]).toBeLessThan(new CfnGuardValidator({ controlTowerRulesEnabled: true }).ruleIds!.length / 2);
    execGuard.mockRestore();
  });

  test('keeps the validator\'s name, so its acknowledgement ids stay the same', () => {
    expect(new ControlTowerGuardRules().name).toBe('cdk-validator-cfnguard');
  });
});
