import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  App, CfnResource, CloudFormationValidatePlugin, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation, Stack, Validations,
} from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagPack } from 'cdk-nag';
import { Construct } from 'constructs';
import { SynthChecks } from '../lib';
import { PROJECT_ROOT, testApp } from './support/app';
import { checkedStack, findings, FixedFindings, synthWithChecks } from './support/checks';

const reportOnly = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

/** An app whose stack holds an acknowledged and an unacknowledged resource for the same rule. */
function oneAcknowledgedOneNot(context: Record<string, unknown> = {}): { app: App; acknowledged: Construct; unacknowledged: Construct } {
  const app = testApp({ context });
  const stack = checkedStack(app);
  const acknowledged = new Construct(stack, 'Acknowledged');
  const unacknowledged = new Construct(stack, 'Unacknowledged');
  Validations.of(acknowledged).acknowledge({ id: 'Fixed::rule_one', reason: 'The rule does not apply to this construct.' });
  return { app, acknowledged, unacknowledged };
}

describe('SynthChecks.attach', () => {
  test('without it, aws-cdk-lib lets an unacknowledged finding without severity pass once another one is acknowledged', () => {
    const { app, acknowledged, unacknowledged } = oneAcknowledgedOneNot();
    Validations.of(app).addPlugins(new FixedFindings([acknowledged, unacknowledged]));
    expect(findings(synthWithChecks(app))).toEqual(['Fixed: rule_one at Checked/Unacknowledged']);
  });

  test('fails the synth on an unacknowledged finding without severity next to an acknowledged one', () => {
    const { app, acknowledged, unacknowledged } = oneAcknowledgedOneNot();
    SynthChecks.attach(app, { plugins: [new FixedFindings([acknowledged, unacknowledged])] });
    expect(() => app.synth()).toThrow(/ERROR found \(Fixed\)\s+Checked\/Unacknowledged /);
  });

  test('passes when every finding is acknowledged', () => {
    const { app, acknowledged } = oneAcknowledgedOneNot();
    SynthChecks.attach(app, { plugins: [new FixedFindings([acknowledged])] });
    expect(findings(synthWithChecks(app))).toEqual([]);
  });

  test.each(['ERROR', 'Fatal', 'HIGH'])('fails the synth on an unacknowledged finding of severity %s', severity => {
    const { app, acknowledged, unacknowledged } = oneAcknowledgedOneNot();
    SynthChecks.attach(app, { plugins: [new FixedFindings([acknowledged, unacknowledged], severity)] });
    expect(() => app.synth()).toThrow(/rule_one/);
  });

  test('reports a custom severity as an error and keeps it in the rule metadata', () => {
    const { app, unacknowledged } = oneAcknowledgedOneNot(reportOnly.context);
    SynthChecks.attach(app, { plugins: [new FixedFindings([unacknowledged], 'HIGH')] });
    const [report] = synthWithChecks(app) as unknown as Array<{ conclusion: string; violations: Array<{ severity: string; ruleMetadata: Record<string, string> }> }>;
    expect(report.conclusion).toBe('failure');
    expect(report.violations[0]).toMatchObject({ severity: 'error', ruleMetadata: { severity: 'HIGH' } });
  });

  test('keeps warning-level findings warnings: they pass unless @aws-cdk/core:strictCfnValidateErrors is set', () => {
    const lenient = oneAcknowledgedOneNot({ '@aws-cdk/core:strictCfnValidateErrors': false });
    SynthChecks.attach(lenient.app, { plugins: [new FixedFindings([lenient.acknowledged, lenient.unacknowledged], 'WARNING')] });
    expect(findings(synthWithChecks(lenient.app))).toEqual(['Fixed: rule_one at Checked/Unacknowledged']);

    const strict = oneAcknowledgedOneNot({ '@aws-cdk/core:strictCfnValidateErrors': true });
    SynthChecks.attach(strict.app, { plugins: [new FixedFindings([strict.acknowledged, strict.unacknowledged], 'warning')] });
    expect(() => strict.app.synth()).toThrow(/rule_one/);
  });

  test('a plugin that fails without findings or an error message fails the synth with one', () => {
    const app = testApp();
    checkedStack(app);
    SynthChecks.attach(app, { plugins: [{ name: 'Silent', validate: () => ({ success: false, violations: [] }) }] });
    expect(() => app.synth()).toThrow('ERROR Validation plugin \'Silent\' reported a failure without findings or an error message');
  });

  test('a plugin that throws fails the synth with its error', () => {
    const app = testApp();
    checkedStack(app);
    SynthChecks.attach(app, { plugins: [{ name: 'Throwing', validate: () => { throw new Error('cfn-guard is not installed'); } }] });
    expect(() => app.synth()).toThrow('ERROR Validation plugin \'Throwing\' failed: cfn-guard is not installed');
  });

  test('keeps the plugin\'s name and version, so its acknowledgement ids keep working', () => {
    const app = testApp(reportOnly);
    const stack = checkedStack(app);
    const plugin: IPolicyValidationPlugin & { validate: jest.Mock } = {
      name: 'Named', version: '1.2.3', ruleIds: ['a', 'b'],
      validate: jest.fn((): PolicyValidationPluginReport => ({ success: false, violations: [violation('a', stack)] })),
    };
    Validations.of(stack).acknowledge({ id: 'Named::a', reason: 'The stack is a test fixture.' });
    SynthChecks.attach(app, { plugins: [plugin] });
    const [report] = synthWithChecks(app) as unknown as Array<{ pluginName: string; pluginVersion: string; conclusion: string; suppressedViolations: unknown[] }>;
    expect(report).toMatchObject({ pluginName: 'Named', pluginVersion: '1.2.3', conclusion: 'success' });
    expect(report.suppressedViolations).toHaveLength(1);
    expect(plugin.validate).toHaveBeenCalledTimes(1);
  });

  test('attaches aws-cdk-lib\'s CloudFormation rules plugin as it is, so that its default instance does not run as well', () => {
    const app = testApp(reportOnly);
    // Out of the range CloudFormation allows (60 to 1,209,600 seconds).
    new CfnResource(new Stack(app, 'Checked'), 'ShortRetention', { type: 'AWS::SQS::Queue', properties: { MessageRetentionPeriod: 5 } });
    SynthChecks.attach(app, { plugins: [new CloudFormationValidatePlugin()] });
    const reported = findings(synthWithChecks(app)).filter(finding => finding.startsWith('CloudFormation Validate:'));
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatch(/ at Checked\/ShortRetention$/);
  });

  test('runs cdk-nag\'s five packs, RdsProxyChecks and DeployReadinessChecks by default, then the additional plugins', () => {
    const validate = jest.spyOn(NagPack.prototype, 'validate');
    const app = testApp(reportOnly);
    new sqs.Queue(new Stack(app, 'Checked'), 'Queue', { enforceSSL: true });
    const additional = new FixedFindings([]);
    const additionalValidate = jest.spyOn(additional, 'validate');
    SynthChecks.attach(app, { additionalPlugins: [additional] });
    synthWithChecks(app);
    expect(validate.mock.contexts.map(pack => (pack as NagPack).name)).toEqual([
      'AwsSolutions', 'Serverless', 'HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321', 'RdsProxy', 'DeployReadiness',
    ]);
    expect(additionalValidate).toHaveBeenCalledTimes(1);
    validate.mockRestore();
  });

  test('warns when aws-cdk-lib\'s CloudFormation rules only warn', () => {
    const app = testApp({ context: { '@aws-cdk/core:validateAgainstDefaultRules': undefined } });
    SynthChecks.attach(app, { plugins: [] });
    expect(app.node.metadata.map(entry => entry.data)).toEqual([
      'aws-cdk-lib\'s CloudFormation rules only warn: set the context "@aws-cdk/core:validateAgainstDefaultRules": true (cdk.json) so that their findings '
      + 'fail the synth like the attached checks, or acknowledge \'cdk-serverless-rds:CloudFormationRulesOnlyWarn\'. [ack: cdk-serverless-rds:CloudFormationRulesOnlyWarn]',
    ]);
  });

  test.each([true, 'true'])('does not warn when @aws-cdk/core:validateAgainstDefaultRules is %p', flag => {
    const app = testApp({ context: { '@aws-cdk/core:validateAgainstDefaultRules': flag } });
    SynthChecks.attach(app, { plugins: [] });
    expect(app.node.metadata).toEqual([]);
  });
});

function violation(ruleName: string, construct: Construct): PolicyViolation {
  return { ruleName, description: 'found', violatingResources: [{ constructPath: construct.node.path, locations: [] }] };
}

describe('cdk synth with the pinned CLI and checks attached with SynthChecks', () => {
  const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'synth-checks-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  // Two keys break the same Control Tower rule (no statement limits grants to AWS services); one is acknowledged.
  const appFile = path.join(work, 'app.ts');
  fs.writeFileSync(appFile, `
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SynthChecks } from ${JSON.stringify(path.join(PROJECT_ROOT, 'lib'))};

const app = new App();
const stack = new Stack(app, 'Keys');
const acknowledged = new kms.Key(stack, 'AcknowledgedKey', { enableKeyRotation: true });
Validations.of(acknowledged).acknowledge({ id: 'cdk-validator-cfnguard::kms_create_grant_aws_service_check', reason: 'A test fixture.' });
if (process.env.WITH_UNACKNOWLEDGED_KEY === 'true') {
  new kms.Key(stack, 'UnacknowledgedKey', { enableKeyRotation: true });
}
SynthChecks.attach(app, { plugins: [new CfnGuardValidator({ controlTowerRulesEnabled: true })] });
`);

  /** `cdk synth` from the project folder (so cdk.json's context applies) with the app above. */
  function cdkSynth(withUnacknowledgedKey: boolean): { status: number | null; output: string } {
    const out = path.join(work, withUnacknowledgedKey ? 'with' : 'without');
    const result = spawnSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--app', `npx tsx ${appFile}`, '--output', out], {
      cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, WITH_UNACKNOWLEDGED_KEY: String(withUnacknowledgedKey) },
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  test('exits non-zero on an unacknowledged Control Tower finding next to an acknowledged one', () => {
    const { status, output } = cdkSynth(true);
    expect(output).toContain('Keys/UnacknowledgedKey/Resource');
    expect(output).not.toContain('Keys/AcknowledgedKey/Resource');
    expect(status).not.toBe(0);
  }, 180000);

  test('exits 0 when the only finding is acknowledged', () => {
    const { status, output } = cdkSynth(false);
    expect({ status, output: output.trim() }).toEqual({ status: 0, output: '' });
  }, 180000);
});
