import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { DeployReadinessChecks, RdsProxyChecks } from '../lib';

/**
 * Attach every check the reference stacks must pass, as validation plugins
 * that run at synth: the cdk-nag packs, this library's RDS Proxy and deploy readiness packs and the
 * Control Tower proactive controls. aws-cdk-lib's own CloudFormation rules run at every synth and
 * fail it through the `@aws-cdk/core:validateAgainstDefaultRules` and
 * `@aws-cdk/core:strictCfnValidateErrors` context in cdk.json.
 */
export function addChecks(stage: Stage): void {
  Validations.of(stage).addPlugins(
    new AwsSolutionsChecks(stage),
    new ServerlessChecks(stage),
    new HIPAASecurityChecks(stage),
    new NIST80053R5Checks(stage),
    new PCIDSS321Checks(stage),
    new RdsProxyChecks(stage),
    new DeployReadinessChecks(stage),
    new CfnGuardValidator({ controlTowerRulesEnabled: true }),
  );
}
