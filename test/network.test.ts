import { CfnParameter, CfnResource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagRuleCompliance, rules } from 'cdk-nag';
import { IConstruct } from 'constructs';
import {
  AppParameters, DatabaseBootstrap, DatabaseFunction, DatabaseFunctionProps, DatabaseNetwork, DatabaseNetworkProps, ExistingInterfaceEndpoint, GatewayEndpoint, ProxiedDatabase,
} from '../lib';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, resourcePermissions, template, testApp, testStack } from './support/app';

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

  test('creates no endpoint while no function or database needs one', () => {
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    expect(network.interfaceEndpoints).toEqual([]);
    expect(network.hasInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER)).toBe(false);
  });

  test('the shared function security group allows no outbound traffic', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Shared by every database function of the app so they share Hyperplane ENIs',
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
    });
    t.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
  });

  test('closes the VPC\'s default security group with the stack\'s custom resource function, not aws-cdk-lib\'s provider', () => {
    const functions = Object.keys(t.findResources('AWS::Lambda::Function'));
    expect(functions).toEqual([expect.stringMatching(/^CdkServerlessRdsCustomResourcesHandler/)]);
    expect(Object.keys(t.toJSON().Resources).filter(id => id.startsWith('CustomVpcRestrictDefaultSGCustomResourceProvider'))).toEqual([]);
    const [[id, resource]] = Object.entries(t.findResources('Custom::VpcRestrictDefaultSG'));
    // aws-cdk-lib's construct path and so its logical id: an earlier deployment's resource is never deleted separately (which would re-open the group).
    expect(id).toMatch(/^NetworkVpcRestrictDefaultSecurityGroupCustomResource[0-9A-F]{8}$/);
    expect(resource.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [functions[0], 'Arn'] },
      DefaultSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^NetworkVpc[0-9A-F]{8}$/), 'DefaultSecurityGroup'] },
      Account: { Ref: 'AWS::AccountId' },
      PermissionsRoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^NetworkVpcRestrictDefaultSecurityGroupCustomResourceRole/), 'Arn'] },
    });
  });

  test('the default security group resource\'s role may add and remove rules of that one group only', () => {
    const [resource] = Object.values(t.findResources('Custom::VpcRestrictDefaultSG'));
    const vpcId = resource.Properties.DefaultSecurityGroupId['Fn::GetAtt'][0];
    expect(resourcePermissions(t, resource as Parameters<typeof resourcePermissions>[1]).statements).toEqual([{
      Effect: 'Allow',
      Action: ['ec2:AuthorizeSecurityGroupEgress', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress'],
      Resource: {
        'Fn::Join': ['', [
          'arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':security-group/',
          { 'Fn::GetAtt': [vpcId, 'DefaultSecurityGroup'] },
        ]],
      },
    }]);
  });

  test('cdk-nag\'s VPCDefaultSecurityGroupClosed rule finds the VPC\'s default security group closed', () => {
    const cfnVpc = network.vpc.node.defaultChild as ec2.CfnVPC;
    expect(rules.vpc.VPCDefaultSecurityGroupClosed(cfnVpc)).toBe(NagRuleCompliance.COMPLIANT);
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
    t.resourceCountIs('Custom::VpcRestrictDefaultSG', 0);
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
      new DatabaseFunction(stack, id, { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
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

/** The logical id of a construct's CloudFormation resource. */
function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnResource);
}

/** The standalone rules of one kind on a security group, by its logical id. */
function rulesOf(t: Template, type: 'AWS::EC2::SecurityGroupEgress' | 'AWS::EC2::SecurityGroupIngress', groupId: string): any[] {
  return Object.values(t.findResources(type, { Properties: { GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] } } })).map(rule => rule.Properties);
}

const HTTPS_RULE = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443 };
const dynamoDbPrefixList = 'pl-02cd2c6b';

describe('DatabaseNetwork service endpoints', () => {
  function app(networkProps: DatabaseNetworkProps | ((stack: Stack) => DatabaseNetworkProps) = {}) {
    const stack = testStack(reportOnly);
    const network = new DatabaseNetwork(stack, 'Network', typeof networkProps === 'function' ? networkProps(stack) : networkProps);
    // With secrets, so that a bootstrap and a rotation function call Secrets Manager from the database subnets.
    const database = new ProxiedDatabase(stack, 'Database', { network, defaultAuthScheme: rds.DefaultAuthScheme.NONE });
    const bootstrap = new DatabaseBootstrap(stack, 'Bootstrap', { database, users: [{ name: 'app_user' }] });
    const addFunction = (id: string, options: Partial<DatabaseFunctionProps> = {}) => new DatabaseFunction(stack, id, {
      database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE, ...options,
    });
    return { stack, network, database, bootstrap, addFunction };
  }

  describe('a function that reads shared settings, next to the database', () => {
    const { stack, network, database, bootstrap, addFunction } = app();
    const parameters = new AppParameters(stack, 'Parameters', { path: '/items', values: { limit: '20' } });
    const fn = addFunction('Items', { parameters });
    const t = template(stack);
    const functionGroup = logicalId(stack, network.functionSecurityGroup);
    const ssm = network.interfaceEndpoints.find(endpoint => stack.resolve(endpoint.vpcEndpointId).Ref.startsWith('Networkssm'))!;
    const secretsManager = network.interfaceEndpoints.find(endpoint => stack.resolve(endpoint.vpcEndpointId).Ref.startsWith('Networksecretsmanager'))!;
    const ssmGroup = logicalId(stack, ssm.connections.securityGroups[0]);
    const secretsManagerGroup = logicalId(stack, secretsManager.connections.securityGroups[0]);

    test('gets a private Parameter Store endpoint, and Secrets Manager one for the bootstrap and the secret rotation', () => {
      expect(network.interfaceEndpoints.map(endpoint => logicalId(stack, endpoint)).sort()).toEqual([
        expect.stringMatching(/^NetworksecretsmanagerEndpoint/), expect.stringMatching(/^NetworkssmEndpoint/),
      ]);
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.ssm']] },
        PrivateDnsEnabled: true,
        VpcEndpointType: 'Interface',
      });
      expect(network.hasInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.SSM)).toBe(true);
    });

    test('the shared function security group reaches Parameter Store on 443 and nothing but the proxy besides', () => {
      expect(rulesOf(t, 'AWS::EC2::SecurityGroupEgress', functionGroup)).toEqual(expect.arrayContaining([
        expect.objectContaining({ ...HTTPS_RULE, DestinationSecurityGroupId: { 'Fn::GetAtt': [ssmGroup, 'GroupId'] } }),
      ]));
      expect(rulesOf(t, 'AWS::EC2::SecurityGroupEgress', functionGroup).map(rule => rule.DestinationSecurityGroupId['Fn::GetAtt'][0]).sort())
        .toEqual([logicalId(stack, database.proxy.connections.securityGroups[0]), ssmGroup].sort());
      expect(rulesOf(t, 'AWS::EC2::SecurityGroupIngress', ssmGroup)).toEqual([
        expect.objectContaining({ ...HTTPS_RULE, SourceSecurityGroupId: { 'Fn::GetAtt': [functionGroup, 'GroupId'] } }),
      ]);
    });

    test('only the rotation security group reaches Secrets Manager', () => {
      expect(rulesOf(t, 'AWS::EC2::SecurityGroupIngress', secretsManagerGroup)).toEqual([
        expect.objectContaining({ ...HTTPS_RULE, SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(stack, database.rotationSecurityGroup), 'GroupId'] } }),
      ]);
      const rotationEgress = rulesOf(t, 'AWS::EC2::SecurityGroupEgress', logicalId(stack, database.rotationSecurityGroup)).filter(rule => rule.FromPort === 443);
      expect(rotationEgress).toEqual([expect.objectContaining({ DestinationSecurityGroupId: { 'Fn::GetAtt': [secretsManagerGroup, 'GroupId'] } })]);
    });

    test('the function and the rotation deploy after their endpoints and rules exist', () => {
      const resources = t.toJSON().Resources;
      expect(resources[logicalId(stack, fn.lambdaFunction)].DependsOn).toEqual(expect.arrayContaining([
        logicalId(stack, ssm), ssmGroup,
        Object.keys(t.findResources('AWS::EC2::SecurityGroupEgress', { Properties: { GroupId: { 'Fn::GetAtt': [functionGroup, 'GroupId'] }, FromPort: 443 } }))[0],
        Object.keys(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { GroupId: { 'Fn::GetAtt': [ssmGroup, 'GroupId'] } } }))[0],
      ]));
      for (const handler of [bootstrap.handler, bootstrap.rotationHandler!]) {
        expect(resources[logicalId(stack, handler)].DependsOn).toEqual(expect.arrayContaining([logicalId(stack, secretsManager), secretsManagerGroup]));
      }
    });
  });

  test('creates each endpoint once for any number of functions that need it', () => {
    const { stack, addFunction } = app();
    const parameters = new AppParameters(stack, 'Parameters', { path: '/items', values: { limit: '20' } });
    addFunction('A', { parameters });
    addFunction('B', { parameters });
    const t = template(stack);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    expect(Object.keys(t.findResources('AWS::EC2::SecurityGroupEgress', { Properties: { FromPort: 443, Description: 'HTTPS to the ssm interface endpoint' } })))
      .toHaveLength(1);
  });

  test('counts grants made after the function, and leaves out destinations, the failure queue and the keys SQS uses', () => {
    const { stack, network, addFunction } = app();
    const fn = addFunction('Worker', { onSuccess: new destinations.EventBridgeDestination(new events.EventBus(stack, 'Bus')) });
    const queue = new sqs.Queue(stack, 'Orders', { encryption: sqs.QueueEncryption.KMS });
    queue.grantSendMessages(fn);
    template(stack);
    expect(network.interfaceEndpoints.map(endpoint => endpoint.node.id).sort()).toEqual(['secretsmanagerEndpoint', 'sqsEndpoint']);
  });

  test('creates endpoints with NAT gateways too, and gives functions no internet egress', () => {
    const { stack, network, addFunction } = app({ natGateways: 1 });
    addFunction('Items', { parameters: new AppParameters(stack, 'Parameters', { path: '/items', values: { limit: '20' } }) });
    const t = template(stack);
    expect(network.hasInterfaceEndpoint(ec2.InterfaceVpcEndpointAwsService.SSM)).toBe(true);
    expect(JSON.stringify(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('Shared by every') } })))
      .not.toContain('0.0.0.0/0');
  });

  test('throws at synth when a function calls DynamoDB, which an isolated network has no endpoint for', () => {
    const { stack, addFunction } = app();
    const fn = addFunction('Orders');
    new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }).grant(fn, 'dynamodb:GetItem');
    expect(() => template(stack)).toThrow('Test/Orders/Function calls dynamodb (dynamodb:GetItem) but cannot reach it: Test/Network has no dynamodb endpoint '
      + 'and its function subnets no NAT route with 443 egress; add { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, prefixListId: '
      + '<the pl- id of com.amazonaws.<region>.dynamodb> } to the network\'s gatewayEndpoints (with endpoint: when the VPC already has one)');
  });

  test('gatewayEndpoints route DynamoDB through a gateway endpoint on the function subnets and its prefix list', () => {
    const { stack, network, addFunction } = app({ gatewayEndpoints: [{ service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, prefixListId: dynamoDbPrefixList }] });
    const fn = addFunction('Orders');
    new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }).grantReadData(fn);
    const t = template(stack);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.dynamodb']] },
      RouteTableIds: network.vpc.isolatedSubnets.map(subnet => stack.resolve(subnet.routeTable.routeTableId)),
    });
    expect(rulesOf(t, 'AWS::EC2::SecurityGroupEgress', logicalId(stack, network.functionSecurityGroup))).toEqual(expect.arrayContaining([
      { ...HTTPS_RULE, GroupId: expect.anything(), DestinationPrefixListId: dynamoDbPrefixList, Description: 'HTTPS to dynamodb through its gateway endpoint' },
    ]));
    expect(network.gatewayEndpoints).toHaveLength(1);
  });

  test('throws at synth for a service it knows no endpoint for', () => {
    const { stack, addFunction } = app();
    addFunction('Mailer').role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['mobiletargeting:SendMessages'], resources: ['*'] }));
    expect(() => template(stack)).toThrow('Test/Mailer/Function calls mobiletargeting (mobiletargeting:SendMessages) but cannot reach it: '
      + 'Test/Network has no mobiletargeting endpoint and its function subnets no NAT route with 443 egress; no VPC endpoint is known to serve '
      + '\'mobiletargeting\': list one named \'mobiletargeting\' in the network\'s interfaceEndpoints or existingInterfaceEndpoints, or give the '
      + 'function subnets a NAT route and the functions 443 egress (fn.connections.allowToAnyIpv4(ec2.Port.tcp(443)))');
  });

  test('extra interfaceEndpoints are reachable through allowServiceAccess only', () => {
    const { stack, network } = app({ interfaceEndpoints: [ec2.InterfaceVpcEndpointAwsService.SQS] });
    const task = new ec2.SecurityGroup(stack, 'Task', { vpc: network.vpc, allowAllOutbound: false });
    expect(network.allowServiceAccess(task, ec2.InterfaceVpcEndpointAwsService.SQS)).toBe(true);
    const t = template(stack);
    const sqsGroup = logicalId(stack, network.interfaceEndpoints.find(endpoint => endpoint.node.id === 'sqsEndpoint')!.connections.securityGroups[0]);
    expect(rulesOf(t, 'AWS::EC2::SecurityGroupIngress', sqsGroup)).toEqual([
      expect.objectContaining({ ...HTTPS_RULE, SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(stack, task), 'GroupId'] } }),
    ]);
  });

  describe('in an existing VPC', () => {
    const existingSsm = (stack: Stack) => ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'ExistingSsm', {
      vpcEndpointId: 'vpce-0123456789abcdef0', port: 443, securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'SsmGroup', 'sg-0123456789abcdef0')],
    });

    test('a function reaches a declared endpoint, and nothing is created', () => {
      const { stack, network, addFunction } = app(s => ({
        vpc: importedVpc(s), functionSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        existingInterfaceEndpoints: [{ service: ec2.InterfaceVpcEndpointAwsService.SSM, endpoint: existingSsm(s) }],
      }));
      addFunction('Items', { parameters: new AppParameters(stack, 'Parameters', { path: '/items', values: { limit: '20' } }) });
      const t = template(stack);
      t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
      expect(rulesOf(t, 'AWS::EC2::SecurityGroupEgress', logicalId(stack, network.functionSecurityGroup))).toEqual(expect.arrayContaining([
        expect.objectContaining({ ...HTTPS_RULE, DestinationSecurityGroupId: 'sg-0123456789abcdef0' }),
      ]));
      t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { ...HTTPS_RULE, GroupId: 'sg-0123456789abcdef0' });
    });

    test('throws at synth when the function\'s service has no declared endpoint', () => {
      const { stack, addFunction } = app(s => ({ vpc: importedVpc(s), functionSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }));
      addFunction('Items', { parameters: new AppParameters(stack, 'Parameters', { path: '/items', values: { limit: '20' } }) });
      expect(() => template(stack)).toThrow('Test/Items/Function calls ssm (ssm:GetParametersByPath) but cannot reach it: Test/Network has no ssm endpoint '
        + 'and its function subnets no NAT route with 443 egress; declare the VPC\'s ssm endpoint in the network\'s existingInterfaceEndpoints, '
        + 'or list ec2.InterfaceVpcEndpointAwsService.SSM in its interfaceEndpoints to create one');
    });

    test('allowServiceAccess creates nothing for an undeclared service and says so', () => {
      const { stack, network } = app(s => ({ vpc: importedVpc(s) }));
      const task = new ec2.SecurityGroup(stack, 'Task', { vpc: network.vpc, allowAllOutbound: false });
      expect(network.allowServiceAccess(task, ec2.InterfaceVpcEndpointAwsService.SQS)).toBe(false);
      template(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    });

    test('a NAT route counts once the functions may send 443 to the internet', () => {
      const { stack, network, addFunction } = app(s => ({ vpc: importedVpc(s) }));
      const fn = addFunction('Orders');
      new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }).grantReadData(fn);
      expect(() => template(stack)).toThrow(/Test\/Orders\/Function calls dynamodb/);
      network.functionSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the internet through the NAT gateways');
      expect(() => template(stack)).not.toThrow();
    });
  });

  describe('validation', () => {
    const ssm = { service: ec2.InterfaceVpcEndpointAwsService.SSM, endpoint: {} as ec2.IInterfaceVpcEndpoint };

    test('throws when existingInterfaceEndpoints is given without a vpc', () => {
      expect(() => new DatabaseNetwork(testStack(), 'Network', { existingInterfaceEndpoints: [ssm] }))
        .toThrow('Test/Network: existingInterfaceEndpoints declares endpoints of an existing VPC, but no vpc was given: list the services in interfaceEndpoints, or pass the VPC that has them as vpc');
    });

    test('throws naming the fields that JavaScript left out of an endpoint', () => {
      const stack = testStack();
      expect(() => new DatabaseNetwork(stack, 'Network', {
        vpc: importedVpc(stack), existingInterfaceEndpoints: [{ service: ec2.InterfaceVpcEndpointAwsService.SSM } as ExistingInterfaceEndpoint],
      })).toThrow('Test/Network: existingInterfaceEndpoints[0].endpoint is required but missing: pass existingInterfaceEndpoints[0].endpoint (the endpoint, an ec2.IInterfaceVpcEndpoint)');
      expect(() => new DatabaseNetwork(testStack(), 'Network', { gatewayEndpoints: [{} as GatewayEndpoint] })).toThrow(
        'Test/Network: gatewayEndpoints[0].service, gatewayEndpoints[0].prefixListId are required but missing: '
        + "pass gatewayEndpoints[0].service (S3 or DynamoDB), gatewayEndpoints[0].prefixListId (the pl- id of the service's prefix list)");
    });

    test('throws when a service is listed twice', () => {
      const stack = testStack();
      expect(() => new DatabaseNetwork(stack, 'Network', { vpc: importedVpc(stack), interfaceEndpoints: [ec2.InterfaceVpcEndpointAwsService.SSM], existingInterfaceEndpoints: [ssm] }))
        .toThrow('Test/Network: the ssm endpoint is listed more than once across interfaceEndpoints, existingInterfaceEndpoints and gatewayEndpoints: keep one (a VPC has one endpoint per service)');
    });

    test('throws when a prefix list id is not one', () => {
      expect(() => new DatabaseNetwork(testStack(), 'Network', { gatewayEndpoints: [{ service: ec2.GatewayVpcEndpointAwsService.S3, prefixListId: 'com.amazonaws.eu-west-1.s3' }] }))
        .toThrow('Test/Network: gatewayEndpoints: prefixListId \'com.amazonaws.eu-west-1.s3\' of s3 is not a prefix list id: pass the pl-... id of com.amazonaws.<region>.s3 (aws ec2 describe-managed-prefix-lists)');
    });

    test('accepts a prefix list id that is a token', () => {
      const stack = testStack();
      const prefixListId = new CfnParameter(stack, 'S3PrefixList', { type: 'String' }).valueAsString;
      expect(() => new DatabaseNetwork(stack, 'Network', { gatewayEndpoints: [{ service: ec2.GatewayVpcEndpointAwsService.S3, prefixListId }] })).not.toThrow();
    });

    test('throws when an existing gateway endpoint is given without a vpc', () => {
      const stack = testStack();
      const endpoint = ec2.GatewayVpcEndpoint.fromGatewayVpcEndpointId(stack, 'S3', 'vpce-0123456789abcdef0');
      expect(() => new DatabaseNetwork(stack, 'Network', { gatewayEndpoints: [{ service: ec2.GatewayVpcEndpointAwsService.S3, prefixListId: 'pl-63a5400a', endpoint }] }))
        .toThrow('Test/Network: gatewayEndpoints: the s3 entry names an existing endpoint, but no vpc was given: leave endpoint out so the network creates one, or pass the VPC that has it as vpc');
    });
  });
});
