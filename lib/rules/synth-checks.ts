import { Annotations, CloudFormationValidatePlugin, IPolicyValidationPlugin, Stage, Validations } from 'aws-cdk-lib';
import { VALIDATE_AGAINST_DEFAULT_RULES } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import { DeployReadinessChecks } from './deploy-readiness-checks';
import { FailOnFindings } from './private/fail-on-findings';
import { RdsProxyChecks } from './rds-proxy-checks';

/** Options of `SynthChecks.attach`. */
export interface SynthChecksOptions {
  /**
   * The validation plugins to run instead of the default set.
   *
   * @default - cdk-nag's AwsSolutions, Serverless, HIPAA Security, NIST 800-53 R5 and
   *   PCI DSS 3.2.1 packs, `RdsProxyChecks` and `DeployReadinessChecks`
   */
  readonly plugins?: IPolicyValidationPlugin[];

  /**
   * Validation plugins to run in addition to `plugins`, such as
   * `new CfnGuardValidator({ controlTowerRulesEnabled: true })` from
   * `@cdklabs/cdk-validator-cfnguard` for the AWS Control Tower proactive
   * controls (not a jsii package, so not in the default set).
   *
   * @default - none
   */
  readonly additionalPlugins?: IPolicyValidationPlugin[];
}

/**
 * Attaches validation plugins (rule packs) to an app so that every finding
 * nobody acknowledged fails `cdk synth`.
 *
 * `Validations.of(app).addPlugins()` alone lets some findings through: once
 * any finding of a plugin is acknowledged, aws-cdk-lib decides whether that
 * plugin failed from the severities of the findings left, and a finding with
 * no severity (every cfn-guard finding) or an unknown one prints `ERROR` but
 * no longer fails the synth. `attach` gives each finding a severity that
 * counts: `warning` and `info` findings stay warnings (they fail the synth
 * only with the context `@aws-cdk/core:strictCfnValidateErrors: true`), every
 * other finding is an error.
 *
 * aws-cdk-lib's own CloudFormation rules run at every synth without being
 * attached; they fail it only with the context
 * `@aws-cdk/core:validateAgainstDefaultRules: true`, and `attach` warns
 * (`cdk-serverless-rds:CloudFormationRulesOnlyWarn`) when that is not set.
 *
 * @example
 * const app = new App();
 * // ... stacks ...
 * SynthChecks.attach(app, { additionalPlugins: [new CfnGuardValidator({ controlTowerRulesEnabled: true })] });
 */
export class SynthChecks {
  /** The id of the warning that aws-cdk-lib's CloudFormation rules only warn, because `@aws-cdk/core:validateAgainstDefaultRules` is not set. */
  public static readonly CLOUDFORMATION_RULES_WARNING = 'cdk-serverless-rds:CloudFormationRulesOnlyWarn';

  /**
   * Attach the plugins to the stage (usually the App): they run at synth on
   * every stack of the stage, and any finding nobody acknowledged fails it.
   * Acknowledge a finding with `Validations.of(construct).acknowledge({ id: '<plugin>::<rule>', reason })`.
   *
   * @param stage the App or Stage whose stacks are checked
   * @param options which plugins run
   */
  public static attach(stage: Stage, options: SynthChecksOptions = {}): void {
    const plugins = [...(options.plugins ?? SynthChecks.defaultPlugins(stage)), ...(options.additionalPlugins ?? [])];
    // aws-cdk-lib recognises its CloudFormation rules plugin by class, and then skips its default instance: it must stay unwrapped.
    Validations.of(stage).addPlugins(...plugins.map(plugin => plugin instanceof CloudFormationValidatePlugin ? plugin : new FailOnFindings(plugin)));
    if (!contextFlagEnabled(stage, VALIDATE_AGAINST_DEFAULT_RULES)) {
      Annotations.of(stage).addWarningV2(SynthChecks.CLOUDFORMATION_RULES_WARNING,
        `aws-cdk-lib's CloudFormation rules only warn: set the context "${VALIDATE_AGAINST_DEFAULT_RULES}": true (cdk.json) so that their findings `
        + `fail the synth like the attached checks, or acknowledge '${SynthChecks.CLOUDFORMATION_RULES_WARNING}'.`);
    }
  }

  private static defaultPlugins(stage: Stage): IPolicyValidationPlugin[] {
    return [
      new AwsSolutionsChecks(stage),
      new ServerlessChecks(stage),
      new HIPAASecurityChecks(stage),
      new NIST80053R5Checks(stage),
      new PCIDSS321Checks(stage),
      new RdsProxyChecks(stage),
      new DeployReadinessChecks(stage),
    ];
  }

  private constructor() {}
}

/** Whether a boolean context flag is on, read the way aws-cdk-lib reads its validation flags (any value but `false` and `'false'`). */
function contextFlagEnabled(stage: Stage, flag: string): boolean {
  const value: unknown = stage.node.tryGetContext(flag);
  return value !== undefined && value !== false && value !== 'false';
}
