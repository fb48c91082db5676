import { CustomResource } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AppParameters, DatabaseFunction, DatabaseNetwork, ProxiedDatabase } from '../../lib';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, template, testStack } from '../support/app';
import { findingsOf, pathsFlagged } from './support';

const RULE = 'FunctionReachesCalledServices';
const ISOLATED = { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

interface PlainOptions {
  /** NAT gateways (with public subnets and private subnets with egress for the function). */
  readonly natGateways?: number;
  /** Whether the function's own security group allows all outbound traffic. */
  readonly allowAllOutbound?: boolean;
}

/** A plain VPC and a function in it, written the way public samples do it. */
function plainFunction(options: PlainOptions = {}) {
  const stack = testStack();
  const nat = (options.natGateways ?? 0) > 0;
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: options.natGateways ?? 0,
    subnetConfiguration: nat
      ? [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }, { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }]
      : [ISOLATED],
  });
  const securityGroup = new ec2.SecurityGroup(stack, 'FnGroup', { vpc, allowAllOutbound: options.allowAllOutbound ?? true });
  const fn = inlineFunction(stack, 'Fn', {
    vpc, securityGroups: [securityGroup], vpcSubnets: { subnetType: nat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED },
  });
  const grantSsm = () => fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['*'] }));
  return { stack, vpc, fn, securityGroup, grantSsm };
}

describe('DeployReadiness-FunctionReachesCalledServices', () => {
  test('flags a function in isolated subnets that calls Parameter Store without an endpoint, naming the service and actions', () => {
    const { stack, grantSsm } = plainFunction();
    grantSsm();
    const findings = findingsOf(stack, RULE);
    expect(findings.map(finding => finding.path)).toEqual(['Test/Fn/Resource']);
    expect(findings[0].description).toContain('cannot reach: ssm (ssm:GetParameter).');
  });

  test('passes an interface endpoint open to the VPC, with the function allowed all egress', () => {
    const { stack, vpc, grantSsm } = plainFunction();
    grantSsm();
    vpc.addInterfaceEndpoint('Ssm', { service: ec2.InterfaceVpcEndpointAwsService.SSM });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags an endpoint without private DNS: the SDK\'s default hostname resolves to public addresses', () => {
    const { stack, vpc, grantSsm } = plainFunction();
    grantSsm();
    vpc.addInterfaceEndpoint('Ssm', { service: ec2.InterfaceVpcEndpointAwsService.SSM, privateDnsEnabled: false });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Fn/Resource']);
  });

  test('flags an endpoint whose security group lets nothing in, and passes once it admits the function\'s group', () => {
    const { stack, vpc, securityGroup, grantSsm } = plainFunction();
    grantSsm();
    const endpoint = vpc.addInterfaceEndpoint('Ssm', { service: ec2.InterfaceVpcEndpointAwsService.SSM, open: false });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Fn/Resource']);
    endpoint.connections.allowDefaultPortFrom(securityGroup);
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a function whose security group allows no egress to the endpoint, and passes once it does', () => {
    const { stack, vpc, securityGroup, grantSsm } = plainFunction({ allowAllOutbound: false });
    grantSsm();
    const endpoint = vpc.addInterfaceEndpoint('Ssm', { service: ec2.InterfaceVpcEndpointAwsService.SSM });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Fn/Resource']);
    securityGroup.connections.allowTo(endpoint, ec2.Port.tcp(443));
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes a NAT route with 443 egress, and flags it when the security group allows no egress to the internet', () => {
    const open = plainFunction({ natGateways: 1 });
    open.grantSsm();
    expect(pathsFlagged(open.stack, RULE)).toEqual([]);
    const closed = plainFunction({ natGateways: 1, allowAllOutbound: false });
    closed.grantSsm();
    expect(pathsFlagged(closed.stack, RULE)).toEqual(['Test/Fn/Resource']);
  });

  test('passes DynamoDB through a gateway endpoint on the function\'s route tables, and flags it on other subnets only', () => {
    const reached = plainFunction();
    new dynamodb.Table(reached.stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }).grantReadData(reached.fn);
    reached.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });
    expect(pathsFlagged(reached.stack, RULE)).toEqual([]);

    const missed = plainFunction();
    new dynamodb.Table(missed.stack, 'Table', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } }).grantReadData(missed.fn);
    missed.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [{ subnets: [missed.vpc.isolatedSubnets[0]] }] });
    expect(pathsFlagged(missed.stack, RULE)).toEqual(['Test/Fn/Resource']);
  });

  test('flags a custom resource handler in isolated subnets without an S3 route: it answers CloudFormation at a pre-signed S3 URL', () => {
    const { stack, fn } = plainFunction();
    new CustomResource(stack, 'Answered', { serviceToken: fn.functionArn });
    const findings = findingsOf(stack, RULE);
    expect(findings.map(finding => finding.path)).toEqual(['Test/Fn/Resource']);
    expect(findings[0].description).toContain('cannot reach: s3 (s3:PutObject).');
  });

  test('passes a custom resource handler whose subnets route S3 through a gateway endpoint', () => {
    const { stack, vpc, fn } = plainFunction();
    new CustomResource(stack, 'Answered', { serviceToken: fn.functionArn });
    vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes what Lambda does for the function: logs, tracing, ENIs, a KMS-encrypted dead-letter queue and destinations', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [ISOLATED] });
    const key = new kms.Key(stack, 'Key');
    const fn = inlineFunction(stack, 'Fn', {
      vpc,
      tracing: lambda.Tracing.ACTIVE,
      deadLetterQueue: new sqs.Queue(stack, 'DeadLetters', { encryptionMasterKey: key }),
      onFailure: new destinations.SqsDestination(new sqs.Queue(stack, 'Failures', { encryptionMasterKey: new kms.Key(stack, 'FailureKey') })),
    });
    key.grantEncryptDecrypt(fn);
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('counts Secrets Manager but not the KMS calls it makes with the secret\'s key', () => {
    const { stack, vpc, fn } = plainFunction();
    new secretsmanager.Secret(stack, 'Secret', { encryptionKey: new kms.Key(stack, 'SecretKey') }).grantRead(fn);
    expect(findingsOf(stack, RULE)[0].description).toContain('cannot reach: secretsmanager (secretsmanager:DescribeSecret, secretsmanager:GetSecretValue).');
    vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('does not judge functions outside a VPC or in subnets the template does not define', () => {
    const outside = testStack();
    inlineFunction(outside, 'Fn').addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['*'] }));
    expect(pathsFlagged(outside, RULE)).toEqual([]);

    const imported = testStack();
    const vpc = ec2.Vpc.fromVpcAttributes(imported, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a'], isolatedSubnetIds: ['subnet-0123456789abcdef0'],
    });
    inlineFunction(imported, 'Fn', { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } })
      .addToRolePolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['*'] }));
    expect(pathsFlagged(imported, RULE)).toEqual([]);
  });

  test('passes the library\'s functions, whose network creates the endpoints they need', () => {
    const stack = testStack();
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network });
    new DatabaseFunction(stack, 'Items', {
      database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE,
      parameters: new AppParameters(stack, 'Parameters', { path: '/items', values: { limit: '20' } }),
    });
    // The network opens the paths at synth, before validation plugins such as this pack run.
    template(stack);
    expect(findingsOf(stack, RULE)).toEqual([]);
  });
});
