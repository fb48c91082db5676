import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DatabaseFunction, DatabaseNetwork, ProxiedDatabase } from '../lib';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, template, testApp, testStack } from './support/app';

/** Subnet ids in EC2's format: kind 1 = isolated, 2 = private, 3 = public. */
const subnetId = (kind: number, zone: number) => `subnet-0${kind}${zone}00000000000000`;

function importedVpc(stack: Stack, zones = ['eu-west-1a', 'eu-west-1b']): ec2.IVpc {
  const ids = (kind: number) => zones.map((_, i) => subnetId(kind, i));
  const routeTables = zones.map((_, i) => `rtb-0${i}000000000000000`);
  return ec2.Vpc.fromVpcAttributes(stack, 'Imported', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: zones,
    isolatedSubnetIds: ids(1),
    isolatedSubnetRouteTableIds: routeTables,
    privateSubnetIds: ids(2),
    privateSubnetRouteTableIds: routeTables,
    publicSubnetIds: ids(3),
    publicSubnetRouteTableIds: routeTables,
  });
}

describe('DatabaseNetwork defaults', () => {
  const stack = testStack();
  const network = new DatabaseNetwork(stack, 'Network');
  const t = template(stack);

  test('creates a VPC with isolated subnets in two zones and no NAT or internet gateway', () => {
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::Subnet', 2);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    t.resourceCountIs('AWS::EC2::InternetGateway', 0);
    t.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    expect(network.vpc.isolatedSubnets).toHaveLength(2);
  });

  test('logs all VPC traffic to an encrypted log group kept one year', () => {
    t.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkLogKey'), 'Arn'] } },
      DeletionPolicy: 'Retain',
    });
  });

  test('creates a rotating log key that CloudWatch Logs may use for this account only and that denies grants to non-services', () => {
    t.hasResource('AWS::KMS::Key', {
      Properties: {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'DenyGrantsExceptForAwsServices',
              Effect: 'Deny',
              Action: 'kms:CreateGrant',
              Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
            }),
            Match.objectLike({
              Sid: 'AllowCloudWatchLogsForThisAccountLogGroups',
              Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
              Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
            }),
          ]),
        },
      },
      DeletionPolicy: 'Retain',
    });
  });

  test('creates a private Secrets Manager endpoint open only to the shared function security group', () => {
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.secretsmanager']] },
      PrivateDnsEnabled: true,
      VpcEndpointType: 'Interface',
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443, ToPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NetworkFunctionSecurityGroup'), 'GroupId'] },
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'secretsmanager interface endpoint: HTTPS from the functions that need it',
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
    });
    expect(network.hasInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER)).toBe(true);
    expect(network.hasInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.SSM)).toBe(false);
  });

  test('the shared function security group allows no outbound traffic except to the endpoints', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Shared by every database function of the app so they share Hyperplane ENIs',
      SecurityGroupEgress: Match.absent(),
    });
    t.resourceCountIs('AWS::EC2::SecurityGroupEgress', 1);
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { FromPort: 443, ToPort: 443 });
  });

  test('places functions and the database in the isolated subnets', () => {
    expect(network.vpc.selectSubnets(network.functionSubnets).subnets).toEqual(network.vpc.isolatedSubnets);
    expect(network.vpc.selectSubnets(network.databaseSubnets).subnets).toEqual(network.vpc.isolatedSubnets);
    expect(network.functionPlacement.securityGroup).toBe(network.functionSecurityGroup);
    expect(network.logRetention).toBe(logs.RetentionDays.ONE_YEAR);
  });
});

describe('DatabaseNetwork options', () => {
  test('natGateways adds public subnets and moves functions to private subnets with egress', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network', { natGateways: 1 });
    const t = template(stack);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    t.resourceCountIs('AWS::EC2::Subnet', 6);
    expect(network.vpc.selectSubnets(network.functionSubnets).subnets).toEqual(network.vpc.privateSubnets);
    expect(network.vpc.selectSubnets(network.databaseSubnets).subnets).toEqual(network.vpc.isolatedSubnets);
  });

  test('maxAzs and ipAddresses shape a new VPC', () => {
    const stack = new Stack(testApp(), 'Pinned', { env: { account: '111111111111', region: 'eu-west-1' } });
    stack.node.setContext(`availability-zones:account=111111111111:region=eu-west-1`, ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    new DatabaseNetwork(stack, 'Network', { maxAzs: 3, ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16') });
    const t = template(stack);
    t.resourceCountIs('AWS::EC2::Subnet', 3);
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.20.0.0/16' });
  });

  test('an existing VPC gets no flow log and no endpoint, and its isolated subnets are used', () => {
    const stack = testStack();
    const vpc = importedVpc(stack);
    const network = new DatabaseNetwork(stack, 'Network', { vpc });
    const t = template(stack);
    t.resourceCountIs('AWS::EC2::VPC', 0);
    t.resourceCountIs('AWS::EC2::FlowLog', 0);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    expect(network.flowLog).toBeUndefined();
    expect(vpc.selectSubnets(network.databaseSubnets).subnetIds).toEqual([subnetId(1, 0), subnetId(1, 1)]);
    // Functions prefer private subnets with egress when the VPC has them.
    expect(vpc.selectSubnets(network.functionSubnets).subnetIds).toEqual([subnetId(2, 0), subnetId(2, 1)]);
  });

  test('an existing VPC takes explicit subnet selections and endpoints', () => {
    const stack = testStack();
    const vpc = importedVpc(stack);
    const network = new DatabaseNetwork(stack, 'Network', {
      vpc,
      functionSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      interfaceEndpoints: [ec2.InterfaceVpcEndpointAwsService.SSM],
    });
    const t = template(stack);
    expect(vpc.selectSubnets(network.functionSubnets).subnetIds).toEqual([subnetId(1, 0), subnetId(1, 1)]);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.ssm']] } });
  });

  test('interfaceEndpoints: [] creates none', () => {
    const stack = testStack();
    new DatabaseNetwork(stack, 'Network', { interfaceEndpoints: [] });
    template(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  test('logRetention and logEncryptionKey apply to the flow log', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    const network = new DatabaseNetwork(stack, 'Network', { logRetention: logs.RetentionDays.TWO_YEARS, logEncryptionKey: key });
    const t = template(stack);
    expect(network.logEncryptionKey).toBe(key);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 731, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('MyKey'), 'Arn'] } });
  });
});

describe('DatabaseNetwork validation', () => {
  test.each([
    ['maxAzs', { maxAzs: 3 }],
    ['natGateways', { natGateways: 1 }],
    ['ipAddresses', { ipAddresses: ec2.IpAddresses.cidr('10.1.0.0/16') }],
  ])('throws when %s is given with an existing VPC', (prop, extra) => {
    const stack = testStack();
    expect(() => new DatabaseNetwork(stack, 'Network', { vpc: importedVpc(stack), ...extra }))
      .toThrow(`${prop} applies only to a VPC this construct creates, but vpc was given`);
  });

  test('throws when maxAzs is below 2', () => {
    expect(() => new DatabaseNetwork(testStack(), 'Network', { maxAzs: 1 }))
      .toThrow('maxAzs (1) must be between 2 and 6: set maxAzs within that range');
  });

  test('throws when natGateways exceeds maxAzs', () => {
    expect(() => new DatabaseNetwork(testStack(), 'Network', { natGateways: 3 }))
      .toThrow('natGateways (3) must be between 0 and 2: set natGateways within that range');
    expect(() => new DatabaseNetwork(testStack(), 'Network', { maxAzs: 3, natGateways: 4 }))
      .toThrow('natGateways (4) must be between 0 and 3');
  });

  test('throws when natGateways is not a whole number', () => {
    expect(() => new DatabaseNetwork(testStack(), 'Network', { natGateways: 1.5 })).toThrow('natGateways (1.5) must be a whole number');
  });

  test.each(['maxAzs', 'natGateways'])('throws when %s is a token: it shapes the VPC', prop => {
    const stack = testStack();
    const value = new CfnParameter(stack, 'Count', { type: 'Number', default: 2 }).valueAsNumber;
    expect(() => new DatabaseNetwork(stack, 'Network', { [prop]: value }))
      .toThrow(`${prop} must be a value known at synth, not a token`);
  });

  test('throws when function subnets are public', () => {
    const stack = testStack();
    expect(() => new DatabaseNetwork(stack, 'Network', { vpc: importedVpc(stack), functionSubnets: { subnetType: ec2.SubnetType.PUBLIC } }))
      .toThrow(/functionSubnets selects a public subnet .*: functions, proxy and database belong in private or isolated subnets/);
  });

  test('throws when database subnets are public', () => {
    const stack = testStack();
    expect(() => new DatabaseNetwork(stack, 'Network', { vpc: importedVpc(stack), databaseSubnets: { subnetType: ec2.SubnetType.PUBLIC } }))
      .toThrow(/databaseSubnets selects a public subnet/);
  });

  test('throws when the subnets cover a single Availability Zone', () => {
    const stack = testStack();
    expect(() => new DatabaseNetwork(stack, 'Network', { vpc: importedVpc(stack, ['eu-west-1a']) }))
      .toThrow('functionSubnets covers 1 Availability Zone(s) (eu-west-1a): RDS and RDS Proxy need subnets in at least 2');
  });
});

/** Warnings fail synth under the strict checks of cdk.json; these tests read them instead. */
const reportOnly = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

describe('Hyperplane ENI sharing', () => {
  function appWithFunctions() {
    const stack = testStack(reportOnly);
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network });
    for (const id of ['A', 'B']) {
      new DatabaseFunction(stack, id, { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
    }
    return { stack, network, database };
  }

  test('database functions share the ENIs of the shared placement', () => {
    const { stack, network } = appWithFunctions();
    template(stack);
    // Two subnets x the shared group: the RDS-managed admin secret needs no rotation function.
    expect(network.hyperplaneEniCount).toBe(2);
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('Hyperplane ENI'));
  });

  test('a function with its own security group adds ENIs and gets a warning', () => {
    const { stack, network } = appWithFunctions();
    inlineFunction(stack, 'Loner', {
      vpc: network.vpc,
      vpcSubnets: network.functionSubnets,
    });
    expect(network.hyperplaneEniCount).toBe(4);
    Annotations.fromStack(stack).hasWarning('/Test/Loner/Resource',
      Match.stringLikeRegexp('uses security groups other than the shared function security group of Test/Network, so Lambda creates 2 more Hyperplane ENI'));
  });

  test('a function in one subnet outside the shared ones gets a warning counting that subnet', () => {
    const stack = testStack(reportOnly);
    const network = new DatabaseNetwork(stack, 'Network', { natGateways: 1 });
    inlineFunction(stack, 'Elsewhere', {
      vpc: network.vpc,
      vpcSubnets: { subnets: [network.vpc.privateSubnets[0], network.vpc.isolatedSubnets[0]] },
      securityGroups: [network.functionSecurityGroup],
    });
    Annotations.fromStack(stack).hasWarning('/Test/Elsewhere/Resource',
      Match.stringLikeRegexp('uses subnets outside the shared function subnets .* creates 1 more Hyperplane ENI'));
  });

  test('functions outside the network VPC are neither counted nor warned about', () => {
    const stack = testStack(reportOnly);
    const network = new DatabaseNetwork(stack, 'Network');
    const other = new ec2.Vpc(stack, 'OtherVpc', { natGateways: 0, subnetConfiguration: [{ name: 'I', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    inlineFunction(stack, 'Other', {
      vpc: other,
    });
    expect(network.hyperplaneEniCount).toBe(0);
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('Hyperplane ENI'));
  });
});
