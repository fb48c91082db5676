import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { cfnProxy, pathsFlagged, plainProxyStack } from './support';

const RULE = 'ProxyInPrivateSubnets';
const IMPORTED_SUBNET = 'subnet-0123456789abcdef0';
const PUBLIC = { name: 'Public', subnetType: ec2.SubnetType.PUBLIC };

describe('RdsProxy-ProxyInPrivateSubnets', () => {
  test('passes a proxy in isolated subnets', () => {
    const { stack } = plainProxyStack({ subnets: [PUBLIC] });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes a proxy in private subnets whose default route goes through a NAT gateway', () => {
    const { stack } = plainProxyStack({
      subnets: [PUBLIC, { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
      natGateways: 1,
      proxy: { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } },
    });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a proxy in public subnets', () => {
    const { stack } = plainProxyStack({ subnets: [PUBLIC], proxy: { vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } } });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('flags a subnet that routes through an internet gateway without mapping public IPs', () => {
    const { stack, vpc } = plainProxyStack({ subnets: [PUBLIC], proxy: { vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } } });
    for (const subnet of vpc.publicSubnets) {
      (subnet.node.defaultChild as ec2.CfnSubnet).mapPublicIpOnLaunch = false;
    }
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('flags a subnet that maps public IPs without a route to an internet gateway', () => {
    const { stack, vpc } = plainProxyStack();
    (vpc.isolatedSubnets[0].node.defaultChild as ec2.CfnSubnet).mapPublicIpOnLaunch = true;
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('flags a subnet whose route table routes to a literal internet gateway id', () => {
    const { stack, vpc } = plainProxyStack();
    const subnet = vpc.isolatedSubnets[1] as ec2.Subnet;
    new ec2.CfnRoute(stack, 'ToImportedGateway', { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-0123456789abcdef0' });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('does not judge subnets the stack does not define (imported ids)', () => {
    const { stack, proxy } = plainProxyStack();
    cfnProxy(proxy).vpcSubnetIds = [IMPORTED_SUBNET, 'subnet-0fedcba9876543210'];
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a public subnet of the stack next to an imported one', () => {
    const { stack, vpc, proxy } = plainProxyStack({ subnets: [PUBLIC] });
    cfnProxy(proxy).vpcSubnetIds = [IMPORTED_SUBNET, vpc.publicSubnets[0].subnetId];
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });
});
