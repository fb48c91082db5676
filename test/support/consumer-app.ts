import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';

export interface ConsumerAppOptions {
  /** Give the instance a standby in a second Availability Zone. Default: false. */
  readonly multiAz?: boolean;
}

/**
 * An app written without this library, the way a user's app is: an RDS for
 * MySQL instance (db.t4g.small, Single-AZ unless asked) behind RDS Proxy in
 * an imported VPC and a plain Lambda function that reads its secret and
 * reaches it on 3306, in an environment-bound stack.
 */
export function consumerApp(outdir?: string, options: ConsumerAppOptions = {}): App {
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    isolatedSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
  });
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0_41 }),
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL),
    storageEncrypted: true,
    multiAz: options.multiAz ?? false,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  });
  database.addProxy('Proxy', { secrets: [database.secret!], vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
  const fn = new lambda.Function(stack, 'Handler', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  });
  database.secret!.grantRead(fn);
  database.connections.allowDefaultPortFrom(fn, 'handler to MySQL');
  return app;
}
