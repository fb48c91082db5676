import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NagRuleCompliance } from 'cdk-nag';
import { headroomMaximumPercent, minimumProxyPercentForInstanceClass } from '../../private/max-connections';
import { logicalIdOf, referencedLogicalId, resourcesInTemplateOf } from '../../private/template';

/** What RDS Proxy uses when MaxConnectionsPercent is absent. */
const DEFAULT_MAX_CONNECTIONS_PERCENT = 100;
/** Aurora Serverless v2 instances scale, so no class minimum applies to them. */
const SERVERLESS_INSTANCE_CLASS = 'db.serverless';

/**
 * The bounds the target group's pool breaks, each as a sentence: a
 * `MaxConnectionsPercent` above `PROXY_HEADROOM_MAXIMUM_PERCENT` (or above the
 * class minimum where that is higher) or below the minimum AWS recommends for
 * the smallest instance class among its targets (instances of the template
 * that the target group names, or that belong to a cluster it names), and a
 * `MaxIdleConnectionsPercent` above `MaxConnectionsPercent`. A percentage
 * that is not a literal (a parameter, an intrinsic) cannot be checked and is
 * reported as such. Empty for other resources.
 * @param node the CfnResource to check
 */
export function poolGuidanceBreaches(node: CfnResource): string[] {
  if (!(node instanceof rds.CfnDBProxyTargetGroup)) {
    return [];
  }
  const pool: rds.CfnDBProxyTargetGroup.ConnectionPoolConfigurationInfoFormatProperty | undefined = Stack.of(node).resolve(node.connectionPoolConfigurationInfo);
  const unreadable = Object.entries({ MaxConnectionsPercent: pool?.maxConnectionsPercent, MaxIdleConnectionsPercent: pool?.maxIdleConnectionsPercent })
    .filter(([, value]) => value !== undefined && typeof value !== 'number')
    .map(([name, value]) => `${name} is not a literal number (${JSON.stringify(value)}), so it cannot be checked against the guidance`);
  if (unreadable.length > 0) {
    return unreadable;
  }
  const configured = pool?.maxConnectionsPercent;
  const percent = configured ?? DEFAULT_MAX_CONNECTIONS_PERCENT;
  const shown = configured === undefined ? `${percent} (the default when absent)` : String(percent);
  const breaches: string[] = [];
  const binding = targetInstanceClasses(node)
    .map(instanceClass => ({ instanceClass, minimum: minimumProxyPercentForInstanceClass(instanceClass) }))
    .sort((a, b) => b.minimum - a.minimum)[0];
  const maximum = headroomMaximumPercent(binding?.minimum);
  if (percent > maximum) {
    breaches.push(`MaxConnectionsPercent ${shown} is above ${maximum}`);
  }
  if (binding && percent < binding.minimum) {
    breaches.push(`MaxConnectionsPercent ${shown} is below ${binding.minimum}, the minimum for ${binding.instanceClass}`);
  }
  const idle = pool?.maxIdleConnectionsPercent;
  if (idle !== undefined && idle > percent) {
    breaches.push(`MaxIdleConnectionsPercent ${idle} is above MaxConnectionsPercent ${shown}`);
  }
  return breaches;
}

/**
 * RDS Proxy target groups keep their pool within the engine guidance: see
 * `poolGuidanceBreaches`.
 * @param node the CfnResource to check
 */
export const ProxyPoolWithinEngineGuidance = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof rds.CfnDBProxyTargetGroup)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return poolGuidanceBreaches(node).length > 0 ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);

/**
 * The provisioned instance classes behind the target group. Targets outside
 * the template, token classes and Serverless v2 instances have no class
 * minimum to check, so they are left out.
 */
function targetInstanceClasses(targetGroup: rds.CfnDBProxyTargetGroup): string[] {
  const idsOf = (values: string[] | undefined) => new Set((values ?? []).flatMap(value => referencedLogicalId(targetGroup, value) ?? []));
  const instanceIds = idsOf(targetGroup.dbInstanceIdentifiers);
  const clusterIds = idsOf(targetGroup.dbClusterIdentifiers);
  return resourcesInTemplateOf(targetGroup, rds.CfnDBInstance.isCfnDBInstance)
    .filter(instance => instanceIds.has(logicalIdOf(instance)) || clusterIds.has(referencedLogicalId(instance, instance.dbClusterIdentifier) ?? ''))
    .flatMap(instance => {
      const instanceClass: unknown = Stack.of(instance).resolve(instance.dbInstanceClass);
      return typeof instanceClass === 'string' && instanceClass !== SERVERLESS_INSTANCE_CLASS ? [instanceClass] : [];
    });
}
