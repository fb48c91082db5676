import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AlarmTopic, AppParameters, DatabaseFunction, DatabaseNetwork, ProxiedDatabase } from '../../lib';
import { DeployReadinessChecks } from '../../lib/rules';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, testApp } from '../support/app';
import { findings, synthWithChecks } from '../support/checks';

const reportOnly = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

/** A function that calls Parameter Store from isolated subnets, and an alarm topic whose TLS-only policy shuts CloudWatch out. */
function carelessStack(app: App): Stack {
  const stack = new Stack(app, 'Careless');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  inlineFunction(stack, 'Fn', { vpc }).addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['*'] }));
  const alarm = new cloudwatch.Alarm(stack, 'Alarm', {
    metric: new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Errors', period: Duration.minutes(5) }), threshold: 1, evaluationPeriods: 1,
  });
  alarm.addAlarmAction(new actions.SnsAction(new sns.Topic(stack, 'Topic', { enforceSSL: true })));
  return stack;
}

describe('DeployReadinessChecks as a validation plugin', () => {
  test('reports every rule on a careless composition at synth', () => {
    const app = testApp(reportOnly);
    carelessStack(app);
    Validations.of(app).addPlugins(new DeployReadinessChecks(app));
    expect(findings(synthWithChecks(app)).filter(line => line.startsWith('DeployReadiness:')).sort()).toEqual([
      'DeployReadiness: DeployReadiness-AlarmTopicAllowsCloudWatch at Careless/Topic/Resource',
      'DeployReadiness: DeployReadiness-FunctionReachesCalledServices at Careless/Fn/Resource',
    ]);
  });

  test('this library\'s constructs pass: the network opens each function\'s paths before the pack runs', () => {
    const app = testApp(reportOnly);
    const stack = new Stack(app, 'Own');
    const alarms = { topic: new AlarmTopic(stack, 'Alarms').topic };
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network, alarms });
    new DatabaseFunction(stack, 'Fn', {
      database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, alarms,
      parameters: new AppParameters(stack, 'Parameters', { path: '/own', values: { limit: '20' } }),
    });
    const checks = new DeployReadinessChecks(app);
    const validateScope = jest.spyOn(checks, 'validateScope');
    Validations.of(app).addPlugins(checks);

    expect(findings(synthWithChecks(app)).filter(line => line.startsWith('DeployReadiness:'))).toEqual([]);
    // The report file leaves out plugins without findings: the spy shows the pack did run on the app.
    expect(validateScope.mock.results[0].value).toEqual({ success: true, violations: [] });
  });
});
