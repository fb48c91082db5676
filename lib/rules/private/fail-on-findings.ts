import { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, PolicyViolation } from 'aws-cdk-lib';

/** Severities that aws-cdk-lib lets a synth pass with, unless `@aws-cdk/core:strictCfnValidateErrors` is set. */
const NON_BLOCKING_SEVERITIES = ['warning', 'info'];
/** Severities aws-cdk-lib counts as failures when it recomputes a report after acknowledgements. */
const BLOCKING_SEVERITIES = ['error', 'fatal'];

/**
 * A validation plugin whose findings fail the synth unless acknowledged.
 *
 * After acknowledgements, aws-cdk-lib recomputes a report's success from the
 * severities of what is left, and counts only `error` and `fatal` (exactly,
 * in lower case) as failures. A finding without a severity (cfn-guard gives
 * none), in upper case or with a custom one would then print as an error and
 * still let the synth pass once any other finding of the same plugin is
 * acknowledged. This wrapper gives every finding a severity aws-cdk-lib
 * recognises: `warning` and `info` stay what they are, everything else
 * becomes `error` (a custom severity is kept in the rule metadata as
 * `severity`), and the report fails when an error is left, whether or not
 * anything was acknowledged. A plugin that fails without findings keeps
 * failing, with an error message that aws-cdk-lib prints.
 */
export class FailOnFindings implements IPolicyValidationPlugin {
  public readonly name: string;
  public readonly version?: string;
  public readonly ruleIds?: string[];

  constructor(private readonly plugin: IPolicyValidationPlugin) {
    // The name is the prefix of the plugin's acknowledgement ids: it must not change.
    this.name = plugin.name;
    this.version = plugin.version;
    this.ruleIds = plugin.ruleIds;
  }

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const report = this.plugin.validate(context);
    if (report.violations.length === 0) {
      return report.success || report.metadata?.error ? report : { ...report, metadata: { ...report.metadata, error: this.failedWithoutFindings() } };
    }
    const violations = report.violations.map(recognisedSeverity);
    return { ...report, violations, success: violations.every(violation => NON_BLOCKING_SEVERITIES.includes(violation.severity!)) };
  }

  /**
   * aws-cdk-lib prints nothing for a failed report without findings or an
   * error message, and then lets the synth pass: a plugin that could not run
   * would go unnoticed.
   */
  private failedWithoutFindings(): string {
    return `Validation plugin '${this.name}' reported a failure without findings or an error message`;
  }
}

function recognisedSeverity(violation: PolicyViolation): PolicyViolation {
  const given = violation.severity?.toLowerCase();
  if (given !== undefined && [...NON_BLOCKING_SEVERITIES, ...BLOCKING_SEVERITIES].includes(given)) {
    return { ...violation, severity: given };
  }
  const ruleMetadata = given === undefined ? violation.ruleMetadata : { ...violation.ruleMetadata, severity: violation.severity! };
  return { ...violation, severity: 'error', ruleMetadata };
}
