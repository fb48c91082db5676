import * as fs from 'fs';
import * as path from 'path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RdsProxyChecks } from '../lib';
import { buildReferenceApp } from '../bin/reference-app';
import { acknowledgementDeclarations, acknowledgements, findings, staleAcknowledgements, synthWithChecks } from './support/checks';
import { generateReview } from '../lib/review/report';
import { PROJECT_ROOT, testApp } from './support/app';

/** Asset hashes change with every dependency bump; the snapshot is about infrastructure. */
function normalized(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset hash>'));
}

describe('reference app', () => {
  // One synth with real bundling and every check attached serves all the tests below.
  const app = testApp({ bundling: true });
  // Packs without findings leave no entry in the report: watch this library's pack run instead.
  const rdsProxyPack = jest.spyOn(RdsProxyChecks.prototype, 'validateScope');
  const { layer, api, worker, monitoring } = buildReferenceApp(app);
  const pluginReports = synthWithChecks(app);
  const template = Template.fromStack(api);
  const workerTemplate = Template.fromStack(worker);

  test('passes every check with zero unacknowledged findings', () => {
    expect(findings(pluginReports)).toEqual([]);
  });

  test('declares no acknowledgement that acknowledges nothing', () => {
    expect(staleAcknowledgements(app, pluginReports)).toEqual([]);
  });

  test('records each acknowledged finding in the report with its reason', () => {
    const acknowledged = acknowledgements(pluginReports);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const entry of acknowledged) {
      expect(entry.reason.length).toBeGreaterThan(60);
    }
    expect(acknowledged.map(entry => entry.id)).toEqual(expect.arrayContaining([
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
    ]));
  });

  test('declares at most 10 acknowledgements per reference stack (distinct construct and reason), as many as the README counts, none on a stack', () => {
    // The README's table lists each one; a change in either direction updates both.
    const expected: Record<string, number> = { ReferenceLayer: 0, ReferenceApi: 10, ReferenceWorker: 10, ReferenceMonitoring: 0 };
    for (const stack of [layer, api, worker, monitoring]) {
      const declarations = acknowledgementDeclarations(pluginReports, stack.stackName);
      expect({ stack: stack.stackName, declarations: declarations.length <= 10 ? 'at most 10' : declarations })
        .toEqual({ stack: stack.stackName, declarations: 'at most 10' });
      // The whole list when the count differs, so the failure shows what changed.
      expect({ stack: stack.stackName, declarations: declarations.length === expected[stack.stackName] ? declarations.length : declarations })
        .toEqual({ stack: stack.stackName, declarations: expected[stack.stackName] });
      for (const declaration of declarations) {
        expect(declaration.startsWith(`${stack.stackName}: `)).toBe(false);
      }
    }
  });

  test('review/ is what `npm run review` generates from this synth (run it and commit review/ when this fails)', () => {
    const generated = generateReview(app.synth().directory, { assemblyName: 'cdk.out' });
    const directory = path.join(PROJECT_ROOT, 'review');
    const committed = fs.readdirSync(directory).filter(name => name.endsWith('.md')).sort();
    expect(committed).toEqual(generated.map(file => file.name).sort());
    for (const file of generated) {
      expect(`${file.name}:\n${fs.readFileSync(path.join(directory, file.name), 'utf8')}`).toBe(`${file.name}:\n${file.content}`);
    }
  });

  test('runs this library\'s RDS Proxy pack among the checks, with no findings', () => {
    expect(rdsProxyPack).toHaveBeenCalledTimes(1);
    expect(rdsProxyPack.mock.results[0].value.violations).toEqual([]);
  });

  test('every alarm of the API and worker stacks notifies that stack\'s alarm topic', () => {
    for (const stack of [api, worker]) {
      const alarms = Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm');
      const topic = { Ref: stack.getLogicalId(stack.alarmTopic.topic.node.defaultChild as any) };
      expect(Object.keys(alarms).length).toBe(stack.database.alarms.length + (stack === api ? api.itemsFunction : worker.worker).alarms.length);
      for (const alarm of Object.values(alarms)) {
        expect(alarm.Properties.AlarmActions).toEqual([topic]);
      }
    }
  });

  test('one dashboard shows both databases and both functions, with their alarms', () => {
    const body = JSON.stringify(Template.fromStack(monitoring).toJSON());
    for (const path of ['ReferenceApi/Database', 'ReferenceWorker/Database', 'ReferenceApi/ItemsFunction', 'ReferenceWorker/Worker']) {
      expect(body).toContain(path);
    }
    const alarmCount = [api.database, worker.database, api.itemsFunction, worker.worker].reduce((sum, owner) => sum + owner.alarms.length, 0);
    expect(body.match(/Fn::GetStackOutput/g)!.length).toBeGreaterThanOrEqual(alarmCount);
  });

  test('shares Hyperplane ENIs: two for the functions, two for the rotation function', () => {
    expect(api.network.hyperplaneEniCount).toBe(4);
    expect(worker.network.hyperplaneEniCount).toBe(4);
  });

  test('the HTTP API uses IAM authorization, access logs and throttling', () => {
    template.allResourcesProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });

  test('without the account limit in context, the API reserves nothing and provisions nothing, so it deploys in any account', () => {
    expect(api.itemsFunction.alias).toBeUndefined();
    const functionId = api.getLogicalId(api.itemsFunction.lambdaFunction.node.defaultChild as any);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] } });
    template.resourceCountIs('Custom::FunctionConcurrency', 0);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    for (const stack of [api, worker]) {
      const reserved = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
        .map(resource => resource.Properties.ReservedConcurrentExecutions).filter(value => value !== undefined);
      expect(reserved).toEqual([{ 'Fn::If': [expect.stringMatching(/KillSwitchOff$/), { Ref: 'AWS::NoValue' }, 0] }]);
    }
  });

  test('both functions bundle their dependencies; the layer stack publishes the shared layer on its own', () => {
    for (const [stack, fn] of [[api, api.itemsFunction], [worker, worker.worker]] as const) {
      expect(stack.dependencies).not.toContain(layer);
      const props = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(fn.lambdaFunction.node.defaultChild as any)].Properties;
      expect(props.Layers).toBeUndefined();
    }
    Template.fromStack(layer).resourceCountIs('AWS::Lambda::LayerVersion', 1);
  });

  test('the worker records OrderPlaced events from the bus, sends success records to the bus and failures to its queue', () => {
    const busId = worker.getLogicalId(worker.eventBus.node.defaultChild as any);
    workerTemplate.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: { 'source': ['cdk-serverless-rds.reference'], 'detail-type': ['OrderPlaced'] },
    });
    workerTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: {
        OnSuccess: { Destination: { 'Fn::GetAtt': [busId, 'Arn'] } },
        OnFailure: { Destination: { 'Fn::GetAtt': [worker.getLogicalId(worker.worker.failureQueue!.node.defaultChild as any), 'Arn'] } },
      },
    });
    workerTemplate.hasResourceProperties('AWS::RDS::DBCluster', { Engine: 'aurora-mysql' });
  });

  test('events the rule cannot hand to the worker go to its failure queue, whose key admits EventBridge for that rule alone', () => {
    const ruleName = { 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'order-placed']] };
    const rule = workerTemplate.findResources('AWS::Events::Rule', { Properties: { Name: ruleName } });
    const failureQueueArn = { 'Fn::GetAtt': [worker.getLogicalId(worker.worker.failureQueue!.node.defaultChild as any), 'Arn'] };
    expect(Object.values(rule).map(resource => resource.Properties.Targets[0].DeadLetterConfig)).toEqual([{ Arn: failureQueueArn }]);
    const keyId = worker.getLogicalId(worker.worker.failureQueue!.encryptionMasterKey!.node.defaultChild as any);
    const statements: any[] = workerTemplate.toJSON().Resources[keyId].Properties.KeyPolicy.Statement;
    expect(statements.filter(statement => statement.Principal?.Service === 'events.amazonaws.com').map(statement => statement.Condition)).toEqual([{
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: {
        'aws:SourceArn': {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':rule/',
            { Ref: worker.getLogicalId(worker.eventBus.node.defaultChild as any) }, '/', ruleName]],
        },
      },
    }]);
  });

  test('matches the template snapshots', () => {
    expect(normalized(template.toJSON())).toMatchSnapshot();
    expect(normalized(workerTemplate.toJSON())).toMatchSnapshot();
    expect(normalized(Template.fromStack(layer).toJSON())).toMatchSnapshot();
    expect(normalized(Template.fromStack(monitoring).toJSON())).toMatchSnapshot();
  });
});

describe('reference app with the account\'s concurrency limit in context', () => {
  test.each([[1000, true], [139, false], [140, true]])('limit %d: the API provisions its live alias: %p', (limit, provisioned) => {
    const app = testApp({ context: { 'cdk-serverless-rds:accountConcurrencyLimit': limit } });
    const { api } = buildReferenceApp(app, { checks: false });
    const template = Template.fromStack(api);
    expect(api.itemsFunction.alias !== undefined).toBe(provisioned);
    if (!provisioned) {
      return;
    }
    const aliasId = api.getLogicalId(api.itemsFunction.alias!.node.defaultChild as any);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationUri: { Ref: aliasId } });
    template.hasResourceProperties('Custom::FunctionConcurrency', { Qualifier: 'live', ProvisionedConcurrentExecutions: 2 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 0.7,
        CustomizedMetricSpecification: Match.objectLike({ MetricName: 'ProvisionedConcurrencyUtilization', Statistic: 'Maximum' }),
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 2, MaxCapacity: 10, ScheduledActions: Match.arrayWith([Match.objectLike({ ScheduledActionName: 'BusinessHours' })]),
    });
    expect(api.itemsFunction.provisionedMonthlyCostUsd).toBeGreaterThan(0);
  });
});
