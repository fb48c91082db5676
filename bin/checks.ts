import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Stage } from 'aws-cdk-lib';
import { SynthChecks } from '../lib';

/**
 * Attach every check the reference stacks must pass, so that any finding
 * nobody acknowledged fails the synth: the cdk-nag packs, this library's
 * RDS Proxy and deploy readiness packs, and the Control Tower proactive
 * controls. aws-cdk-lib's own CloudFormation rules run at every synth and
 * fail it through the `@aws-cdk/core:validateAgainstDefaultRules` and
 * `@aws-cdk/core:strictCfnValidateErrors` context in cdk.json.
 */
export function addChecks(stage: Stage): void {
  SynthChecks.attach(stage, { additionalPlugins: [new CfnGuardValidator({ controlTowerRulesEnabled: true })] });
}
