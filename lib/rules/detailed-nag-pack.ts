import { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { IApplyRule, NagPack, NagPackProps } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { findingKey, violationPerResource } from './private/rule-pack';

/**
 * A cdk-nag (v3) pack that reports each violating resource on its own, with
 * what its rule found on that resource. cdk-nag itself groups a rule's
 * resources under the first one's description, which would show one
 * resource's details for all of them.
 */
export abstract class DetailedNagPack extends NagPack {
  /** The info of each finding, by rule id and construct path. */
  private readonly infoByFinding = new Map<string, string>();

  /**
   * @param scope the construct (usually the App) to write acknowledgements to
   *   CloudFormation metadata on, when `writeSuppressionsToCloudFormation` is set
   * @param props the options every cdk-nag pack has
   */
  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
  }

  /**
   * Validate a construct tree directly (the plugin's `validate` calls this
   * with the app). Each violating resource is reported on its own, with the
   * details its rule found on it.
   */
  public override validateScope(scope: IConstruct): PolicyValidationPluginReport {
    this.infoByFinding.clear();
    return violationPerResource(super.validateScope(scope), this.infoByFinding);
  }

  /** Record the info of each resource's finding, then apply the rule. */
  protected override applyRule(application: IApplyRule): void {
    this.infoByFinding.set(findingKey(`${this.packName}-${application.rule.name}`, application.node.node.path), application.info);
    super.applyRule(application);
  }
}
