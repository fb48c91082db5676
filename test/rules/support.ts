import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { IConstruct } from 'constructs';
import { NagPack } from 'cdk-nag';
import { DeployReadinessChecks, RdsProxyChecks } from '../../lib/rules';
import { testStack } from '../support/app';

/** One violating resource of the pack's report. */
export interface RuleFinding {
  /** The rule id, such as 'RdsProxy-ProxyTLSRequired'. */
  readonly rule: string;
  readonly path: string;
  readonly description: string;
}

/** Every finding of a pack on a construct tree, through `validateScope`. */
function packFindings(pack: NagPack, scope: IConstruct): RuleFinding[] {
  return pack.validateScope(scope).violations.flatMap(violation =>
    violation.violatingResources.map(resource => ({ rule: violation.ruleName, path: resource.constructPath ?? '', description: violation.description })));
}

/** Every finding of the RDS Proxy pack on a construct tree. */
export function rdsProxyFindings(scope: IConstruct): RuleFinding[] {
  return packFindings(new RdsProxyChecks(), scope);
}

/** Every finding of the deploy readiness pack on a construct tree. */
export function deployReadinessFindings(scope: IConstruct): RuleFinding[] {
  return packFindings(new DeployReadinessChecks(), scope);
}

/** The findings of one rule, named by its file name (`ProxyTLSRequired`, or a DeployReadiness rule). */
export function findingsOf(scope: IConstruct, ruleFile: string): RuleFinding[] {
  return [...rdsProxyFindings(scope), ...deployReadinessFindings(scope)].filter(finding => finding.rule.split('-').slice(1).join('-') === ruleFile);
}

/** The construct paths one rule flags. */
export function pathsFlagged(scope: IConstruct, ruleFile: string): string[] {
  return findingsOf(scope, ruleFile).map(finding => finding.path);
}

export interface PlainProxyOptions {
  /** Props for the proxy on top of a compliant default (isolated subnets, IAM auth, TLS, 70 percent, 5 s borrow timeout). */
  readonly proxy?: Partial<rds.DatabaseProxyProps>;
  /** Extra VPC subnets (the database and the default proxy placement are isolated). */
  readonly subnets?: ec2.SubnetConfiguration[];
  readonly natGateways?: number;
  readonly instanceType?: ec2.InstanceType;
}

/**
 * A plain aws-cdk-lib composition, written the way public samples do it: a
 * VPC, an RDS for PostgreSQL instance and an `rds.DatabaseProxy` in front of
 * it. Compliant with every rule unless options say otherwise.
 */
export function plainProxyStack(options: PlainProxyOptions = {}) {
  const stack = testStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: options.natGateways ?? 0,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, ...options.subnets ?? []],
  });
  const instance = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    instanceType: options.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
  });
  const proxy = new rds.DatabaseProxy(stack, 'Proxy', {
    proxyTarget: rds.ProxyTarget.fromInstance(instance),
    secrets: [instance.secret!],
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    iamAuth: true,
    requireTLS: true,
    maxConnectionsPercent: 70,
    borrowTimeout: Duration.seconds(5),
    ...options.proxy,
  });
  return { stack, vpc, instance, proxy };
}

/** The proxy's L1 resource, for properties the L2 does not offer. */
export function cfnProxy(proxy: rds.DatabaseProxy): rds.CfnDBProxy {
  return proxy.node.defaultChild as rds.CfnDBProxy;
}

/** The proxy's L1 target group. */
export function cfnTargetGroup(proxy: rds.DatabaseProxy): rds.CfnDBProxyTargetGroup {
  return proxy.node.findChild('ProxyTargetGroup') as rds.CfnDBProxyTargetGroup;
}
