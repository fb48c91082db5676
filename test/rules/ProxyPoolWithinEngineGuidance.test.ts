import { CfnParameter, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { testStack } from '../support/app';
import { cfnTargetGroup, findingsOf, pathsFlagged, plainProxyStack } from './support';

const RULE = 'ProxyPoolWithinEngineGuidance';
const TARGET_GROUP = 'Test/Proxy/ProxyTargetGroup';
const T4G_MEDIUM = ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM);
const R6G_LARGE = ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE);
const T3_SMALL = ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.SMALL);

function descriptionsOf(stack: Stack): string[] {
  return findingsOf(stack, RULE).map(finding => finding.description);
}

/** An Aurora PostgreSQL cluster with the given writer and one reader behind a proxy. */
function clusterProxyStack(writer: rds.IClusterInstance, reader: rds.IClusterInstance, maxConnectionsPercent: number) {
  const stack = testStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    writer,
    readers: [reader],
  });
  new rds.DatabaseProxy(stack, 'Proxy', {
    proxyTarget: rds.ProxyTarget.fromCluster(cluster), secrets: [cluster.secret!], vpc, iamAuth: true, maxConnectionsPercent,
  });
  return stack;
}

describe('RdsProxy-ProxyPoolWithinEngineGuidance', () => {
  test('passes 70 percent on db.t4g.medium (minimum 55)', () => {
    const { stack } = plainProxyStack({ instanceType: T4G_MEDIUM, proxy: { maxConnectionsPercent: 70 } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a MaxConnectionsPercent left to its default of 100', () => {
    const { stack } = plainProxyStack({ proxy: { maxConnectionsPercent: undefined } });
    expect(pathsFlagged(stack, RULE)).toEqual([TARGET_GROUP]);
    expect(descriptionsOf(stack)).toEqual([expect.stringContaining('MaxConnectionsPercent 100 (the default when absent) is above 90')]);
  });

  test('flags 95 percent as above the 90 percent headroom limit', () => {
    const { stack } = plainProxyStack({ proxy: { maxConnectionsPercent: 95 } });
    expect(descriptionsOf(stack)).toEqual([expect.stringContaining('MaxConnectionsPercent 95 is above 90')]);
  });

  test('passes 90 percent, the limit itself', () => {
    const { stack } = plainProxyStack({ proxy: { maxConnectionsPercent: 90 } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags 40 percent on db.t4g.medium as below its minimum of 55', () => {
    const { stack } = plainProxyStack({ instanceType: T4G_MEDIUM, proxy: { maxConnectionsPercent: 40 } });
    expect(descriptionsOf(stack)).toEqual([expect.stringContaining('MaxConnectionsPercent 40 is below 55, the minimum for db.t4g.medium')]);
  });

  test('passes 40 percent on db.r6g.large (minimum 20)', () => {
    const { stack } = plainProxyStack({ instanceType: R6G_LARGE, proxy: { maxConnectionsPercent: 40 } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags MaxIdleConnectionsPercent above MaxConnectionsPercent', () => {
    const { stack } = plainProxyStack({ proxy: { maxConnectionsPercent: 60, maxIdleConnectionsPercent: 70 } });
    expect(descriptionsOf(stack)).toEqual([expect.stringContaining('MaxIdleConnectionsPercent 70 is above MaxConnectionsPercent 60')]);
  });

  test('takes the minimum of the smallest instance of a cluster target', () => {
    const stack = clusterProxyStack(rds.ClusterInstance.provisioned('Writer', { instanceType: R6G_LARGE }),
      rds.ClusterInstance.provisioned('Reader', { instanceType: T4G_MEDIUM }), 40);
    expect(descriptionsOf(stack)).toEqual([expect.stringContaining('MaxConnectionsPercent 40 is below 55, the minimum for db.t4g.medium')]);
  });

  test('passes 100 percent on db.t3.small, whose minimum it is, given or left to the default', () => {
    expect(pathsFlagged(plainProxyStack({ instanceType: T3_SMALL, proxy: { maxConnectionsPercent: 100 } }).stack, RULE)).toEqual([]);
    expect(pathsFlagged(plainProxyStack({ instanceType: T3_SMALL, proxy: { maxConnectionsPercent: undefined } }).stack, RULE)).toEqual([]);
    const micro = ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO);
    expect(pathsFlagged(plainProxyStack({ instanceType: micro, proxy: { maxConnectionsPercent: 100 } }).stack, RULE)).toEqual([]);
  });

  test('flags 90 percent on db.t3.small as below its minimum of 100', () => {
    const { stack } = plainProxyStack({ instanceType: T3_SMALL, proxy: { maxConnectionsPercent: 90 } });
    expect(descriptionsOf(stack)).toEqual([expect.stringContaining('MaxConnectionsPercent 90 is below 100, the minimum for db.t3.small')]);
  });

  test('reports percentages that are not literals, which it cannot check', () => {
    const { stack, proxy } = plainProxyStack();
    const percent = new CfnParameter(stack, 'Percent', { type: 'Number', default: 60 }).valueAsNumber;
    cfnTargetGroup(proxy).connectionPoolConfigurationInfo = { maxConnectionsPercent: percent, maxIdleConnectionsPercent: percent };
    expect(descriptionsOf(stack)).toEqual([expect.stringContaining(
      'MaxConnectionsPercent is not a literal number ({"Ref":"Percent"}), so it cannot be checked against the guidance; '
      + 'MaxIdleConnectionsPercent is not a literal number ({"Ref":"Percent"}), so it cannot be checked against the guidance.')]);
  });

  test('applies no class minimum to Aurora Serverless v2 instances', () => {
    const stack = clusterProxyStack(rds.ClusterInstance.serverlessV2('Writer'), rds.ClusterInstance.serverlessV2('Reader'), 10);
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });
});
