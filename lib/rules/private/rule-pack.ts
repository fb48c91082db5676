import { CfnResource, PolicyValidationPluginReport } from 'aws-cdk-lib';
import { IApplyRule, NagMessageLevel } from 'cdk-nag';

/** One rule of a pack: the check, what its finding says and why it matters. */
export interface RuleDefinition {
  /** The rule function; its `name` (the file name) becomes the rule id after the pack prefix. */
  readonly rule: IApplyRule['rule'];
  /** One sentence: what is wrong. */
  readonly info: string;
  /** Why it matters and which prop or setting fixes it. */
  readonly explanation: string;
  readonly level: NagMessageLevel;
  /**
   * What the rule found on one resource (names, values), appended to `info`
   * so that each violating resource carries its own details.
   */
  readonly details?: (node: CfnResource) => string[];
}

/**
 * The info sentence with what the rule found on this resource. A detail that
 * cannot be computed is left out: the rule then reports the same error itself.
 */
export function withDetails(info: string, details: ((node: CfnResource) => string[]) | undefined, node: CfnResource): string {
  if (!details) {
    return info;
  }
  let found: string[];
  try {
    found = details(node);
  } catch {
    found = [];
  }
  return found.length > 0 ? `${info}: ${found.join('; ')}.` : `${info}.`;
}

/** The key under which a pack records the info of one resource's finding. */
export function findingKey(ruleId: string, constructPath: string | undefined): string {
  return `${ruleId} at ${constructPath}`;
}

/**
 * cdk-nag groups a rule's resources under the first one's description, but
 * the details differ per resource: report each violating resource on its
 * own, with the info recorded for it.
 */
export function violationPerResource(report: PolicyValidationPluginReport, infoByFinding: ReadonlyMap<string, string>): PolicyValidationPluginReport {
  const violations = report.violations.flatMap(violation => {
    const firstInfo = infoByFinding.get(findingKey(violation.ruleName, violation.violatingResources[0]?.constructPath));
    return violation.violatingResources.map(resource => {
      const info = infoByFinding.get(findingKey(violation.ruleName, resource.constructPath));
      const description = firstInfo && info ? violation.description.replace(firstInfo, () => info) : violation.description;
      return { ...violation, description, violatingResources: [resource] };
    });
  });
  return { ...report, violations };
}
