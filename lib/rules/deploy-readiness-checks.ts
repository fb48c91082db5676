import { CfnResource } from 'aws-cdk-lib';
import { NagPackProps } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { DEPLOY_READINESS_RULES } from './deploy-readiness';
import { DetailedNagPack } from './detailed-nag-pack';
import { withDetails } from './private/rule-pack';

/**
 * A cdk-nag (v3) rule pack for what static checks miss: templates that
 * synthesize and pass every compliance pack, but fail or misbehave when
 * CloudFormation and the services run them, on the first deploy, a second
 * deployment of the same stack under another name, an update, or a deploy
 * after `cdk destroy`. It checks synthesized templates, so it works on any
 * app, not only on this library's constructs (which pass it by default):
 *
 * - `DeployReadiness-FunctionReachesCalledServices`: a Lambda function in a
 *   VPC reaches every AWS service its role lets it call (through an interface
 *   endpoint, a gateway endpoint or a NAT route, with the security group
 *   rules on 443 each needs).
 * - `DeployReadiness-AlarmTopicAllowsCloudWatch`: an SNS topic that alarms
 *   notify lets CloudWatch publish (topic policy) and use its key.
 * - `DeployReadiness-PhysicalNameVariesWithStack`: explicit names of
 *   account-unique resources (log groups, databases, proxies, functions,
 *   queues, topics, roles, secrets, parameters, buckets, tables, ...) differ
 *   between two deployments of the stack.
 * - `DeployReadiness-RetainedNameVariesPerCreate`: a resource that outlives
 *   its stack has a name the next create of the stack does not reuse.
 * - `DeployReadiness-SecretRotationAfterReaders`: a secret's first rotation
 *   waits for the custom resources that read the secret.
 *
 * Add it like the cdk-nag packs, and acknowledge a finding with the pack
 * name as prefix:
 *
 * ```ts
 * Validations.of(app).addPlugins(new DeployReadinessChecks(app));
 * Validations.of(construct).acknowledge({ id: 'DeployReadiness::DeployReadiness-<Rule>', reason: '...' });
 * ```
 */
export class DeployReadinessChecks extends DetailedNagPack {
  /** The plugin name, and the prefix of the rule ids. */
  public readonly name = 'DeployReadiness';

  /**
   * @param scope the construct (usually the App) to write acknowledgements to
   *   CloudFormation metadata on, when `writeSuppressionsToCloudFormation` is set
   * @param props the options every cdk-nag pack has
   */
  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = this.name;
  }

  /** Apply every rule to one resource (the plugin calls this for each CfnResource). */
  protected checkResource(node: CfnResource): void {
    for (const definition of DEPLOY_READINESS_RULES) {
      this.applyRule({
        info: withDetails(definition.info, definition.details, node),
        explanation: definition.explanation,
        level: definition.level,
        rule: definition.rule,
        node,
      });
    }
  }
}
