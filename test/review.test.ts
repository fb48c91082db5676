import * as fs from 'fs';
import * as path from 'path';
import { Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { costFloor, monthlyUsd, totalUsd } from '../lib/review/cost';
import { identityStatements, managedPolicyAttachments } from '../lib/review/iam';
import { generateReview, writeReview } from '../lib/review/report';
import { StackTemplate } from '../lib/review/template';
import { inlineFunction, testApp } from './support/app';

/**
 * One small stack whose numbers are known by hand: 2 isolated subnets, two
 * functions sharing one security group and one with another (2 × 2 = 4 ENI
 * combinations), an acknowledged and an unacknowledged wildcard policy, a
 * Secrets Manager interface endpoint in both subnets and an Aurora Serverless
 * v2 cluster (writer only, minimum 0.5 ACU) behind RDS Proxy.
 */
function synthReviewStack(): string {
  const app = testApp();
  const stack = new Stack(app, 'Review');
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    natGateways: 0,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    restrictDefaultSecurityGroup: false,
  });
  const shared = new ec2.SecurityGroup(stack, 'Shared', { vpc, allowAllOutbound: false, description: 'shared by two functions' });
  const other = new ec2.SecurityGroup(stack, 'Other', { vpc, allowAllOutbound: false, description: 'one function' });
  shared.connections.allowTo(other, ec2.Port.tcp(5432), 'shared to other');

  const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    writer: rds.ClusterInstance.serverlessV2('Writer'),
    serverlessV2MinCapacity: 0.5,
    serverlessV2MaxCapacity: 2,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  });
  const proxy = new rds.DatabaseProxy(stack, 'Proxy', {
    proxyTarget: rds.ProxyTarget.fromCluster(cluster), secrets: [cluster.secret!], vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  });
  vpc.addInterfaceEndpoint('SecretsManager', {
    service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  });

  const inVpc = (securityGroup: ec2.ISecurityGroup) => ({ vpc, securityGroups: [securityGroup], vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
  const sharedA = inlineFunction(stack, 'SharedA', { ...inVpc(shared), environment: { DATABASE_HOST: proxy.endpoint } });
  const sharedB = inlineFunction(stack, 'SharedB', inVpc(shared));
  inlineFunction(stack, 'Alone', inVpc(other));

  const acknowledged = new iam.Policy(stack, 'Acknowledged', {
    statements: [new iam.PolicyStatement({ actions: ['s3:ListAllMyBuckets'], resources: ['*'] })],
  });
  acknowledged.attachToRole(sharedA.role!);
  Validations.of(acknowledged).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason: 'ListAllMyBuckets has no resource-level permissions.' });
  const unacknowledged = new iam.Policy(stack, 'Unacknowledged', {
    statements: [new iam.PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::bucket/*'] })],
  });
  unacknowledged.attachToRole(sharedB.role!);

  new sqs.Queue(stack, 'Queue', { enforceSSL: true });
  return app.synth().directory;
}

describe('infrastructure review of a hand-checkable stack', () => {
  let review: string;
  let index: string;
  beforeAll(() => {
    const files = generateReview(synthReviewStack());
    review = files.find(file => file.name === 'Review.md')!.content;
    index = files.find(file => file.name === 'README.md')!.content;
  });

  /** The lines of a section, up to the next section of the same level. */
  function section(title: string): string {
    const start = review.indexOf(`\n## ${title}\n`);
    expect(start).toBeGreaterThanOrEqual(0);
    const end = review.indexOf('\n## ', start + 1);
    return review.slice(start, end === -1 ? undefined : end);
  }

  test('the summary counts ENI combinations, acknowledgements and wildcards, and states the cost floor', () => {
    const summary = section('Summary');
    expect(summary).toContain('| Hyperplane ENI combinations | 4 |');
    expect(summary).toContain('| Monthly cost floor (zero traffic) | $146.40 |');
    expect(summary).toContain('| IAM statements with wildcards | 2 (1 not acknowledged) |');
    // Only what a validation plugin of this synth suppressed: aws-cdk-lib's own acknowledgement of the VPC's literal AZs, on both subnets.
    expect(summary).toContain('| Acknowledged findings | 2 |');
  });

  test('the index has one line per stack with resource count, cost floor and ENI combinations', () => {
    expect(index).toMatch(/\| \[Review\]\(Review\.md\) \| \d+ \| \$146\.40 \| 4 \|/);
  });

  test('the diagram draws the function-to-proxy reference, the proxy target and uses Mermaid-safe ids', () => {
    const diagram = section('Architecture');
    expect(diagram).toContain('```mermaid\nflowchart LR');
    expect(diagram).toContain('n_Review_SharedA["Lambda function<br/>Review/SharedA"]');
    expect(diagram).toContain('n_Review_SharedA -->|"env DATABASE_HOST"| n_Review_Proxy');
    expect(diagram).toContain('n_Review_Proxy -->|"target group"| n_Review_Cluster');
    expect(diagram).toContain('n_Review_Cluster["DB cluster<br/>Review/Cluster<br/>1 instance(s): db.serverless"]');
    for (const line of diagram.split('\n').filter(l => l.startsWith('  n_'))) {
      expect(line).toMatch(/^ {2}[A-Za-z0-9_]+(\[| -->)/);
    }
  });

  test('resources are counted by type with their construct paths', () => {
    expect(section('Resources by type')).toContain('| `AWS::Lambda::Function` | 3 | `Review/Alone`<br>`Review/SharedA`<br>`Review/SharedB` |');
  });

  test('an acknowledged wildcard shows its reason and an unacknowledged one is marked', () => {
    const iamSection = section('IAM');
    expect(iamSection).toContain('| `Review/SharedA/ServiceRole` | Allow | `s3:ListAllMyBuckets` | `*` | — | `Resource::*` | ListAllMyBuckets has no resource-level permissions. |');
    expect(iamSection).toContain('| `Review/SharedB/ServiceRole` | Allow | `s3:*` | `arn:aws:s3:::bucket/*` | — | `Action::s3:*`<br>`Resource::arn:aws:s3:::bucket/*` | '
      + '**not acknowledged**: `Action::s3:*`, `Resource::arn:aws:s3:::bucket/*` |');
    expect(iamSection).toContain('| `Review/SharedA/ServiceRole` | Managed policy | — | `arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole` | — | — | — |');
  });

  test('resource policies show the principal, actions and conditions', () => {
    expect(section('IAM')).toContain('| `Review/Queue` | Deny | `AWS: *` | `sqs:*` | `Bool aws:SecureTransport = false` |');
  });

  test('the network section lists the rule between the groups and what each group may send', () => {
    const network = section('Network');
    expect(network).toContain('| `Review/Shared` | `Review/Other` | ingress | tcp | 5432 | shared to other |');
    expect(network).toContain('| `Review/Shared` | `Review/Other` | egress | tcp | 5432 | shared to other |');
    expect(network).toContain('| `Review/Shared` | shared by two functions | only its egress rules below |');
    expect(network).toContain('| `Review/Other` | one function | none (aws-cdk-lib\'s disallow-all marker rule) |');
    expect(network).toContain('| `Review/Vpc/SecretsManager` | `com.amazonaws.${AWS::Region}.secretsmanager` | Interface | 2 |');
    expect(network).toContain('NAT gateways: 0.');
  });

  test('functions sharing subnets and security groups share Hyperplane ENIs: 2 subnets × 2 security group sets = 4', () => {
    const enis = section('Hyperplane ENIs');
    expect(enis).toContain('### Combinations (4 Hyperplane ENIs)');
    expect(enis).toContain('| `Review/Vpc/IsolatedSubnet1/Subnet` | `Review/Shared` | `Review/SharedA`<br>`Review/SharedB` |');
    expect(enis).toContain('| `Review/Vpc/IsolatedSubnet2/Subnet` | `Review/Other` | `Review/Alone` |');
    expect(enis).toContain('| `Review/Alone` | `Review/Vpc/IsolatedSubnet1/Subnet`<br>`Review/Vpc/IsolatedSubnet2/Subnet` | `Review/Other` | 2 |');
  });

  test('acknowledged findings come from the validation report, one row per reason and rules with every resource it covers', () => {
    const acknowledgements = section('Acknowledgements');
    expect(acknowledgements).toContain('2 finding(s) of the validation plugins acknowledged, in 1 group(s) of the same reason and rules (from validation-report.json).');
    const rows = acknowledgements.split('\n').filter(line => line.startsWith('| `'));
    expect(rows).toEqual([
      '| `W3010` | Literal AZs in template are the result of accessing stack.availabilityZones, this is expected and safe '
        + '| `Review/Vpc/IsolatedSubnet1/Subnet`<br>`Review/Vpc/IsolatedSubnet2/Subnet` | — |',
    ]);
  });

  test('the cost floor prices the endpoint per AZ, the Serverless v2 minimum and the proxy minimum of 8 ACUs', () => {
    const cost = section('Monthly cost estimate');
    expect(cost).toContain('| Interface VPC endpoint: Review/Vpc/SecretsManager (com.amazonaws.${AWS::Region}.secretsmanager) | 2 AZ × 730 h | $0.01 per endpoint AZ-hour | $14.60 |');
    expect(cost).toContain('| Aurora Serverless v2 at minimum capacity: Review/Cluster/Writer | 0.5 ACU × 730 h | $0.12 per ACU-hour | $43.80 |');
    expect(cost).toContain('| RDS Proxy: Review/Proxy (Aurora Serverless v2 targets: 0.5 ACU at minimum capacity, billed at least 8) | 8 ACU × 730 h | $0.015 per ACU-hour | $87.60 |');
    expect(cost).toContain('| Secrets Manager secrets | 1 | $0.40 per secret-month | $0.40 |');
    expect(cost).toContain('| **Total** |  |  | **$146.40** |');
    expect(cost).toContain('Prices used: us-east-1');
    expect(cost).toContain('- RDS Proxy, Aurora Serverless v2 targets: $0.015 per ACU-hour (us-east-1, taken on 2026-11-21: https://aws.amazon.com/rds/proxy/pricing/)');
    expect(cost).toContain('| `Queue4A7E3555` | `AWS::SQS::Queue` | `Review/Queue` | usage-based: SQS requests |');
  });

  test('the review is deterministic: no absolute paths, no asset hashes, the same on every run', () => {
    expect(review).not.toContain(path.resolve('.'));
    expect(review).not.toMatch(/[0-9a-f]{64}/);
    const named = (directory: string) => generateReview(directory, { assemblyName: 'cdk.out' }).find(file => file.name === 'Review.md')!.content;
    expect(named(synthReviewStack())).toBe(named(synthReviewStack()));
  });
});

describe('review building blocks', () => {
  const template = new StackTemplate('S', {
    Parameters: { KillSwitch: { Default: 'off' } },
    Conditions: { KillSwitchOff: { 'Fn::Equals': [{ Ref: 'KillSwitch' }, 'off'] } },
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 1024, Architectures: ['arm64'] }, Metadata: { 'aws:cdk:path': 'S/Fn/Resource' } },
      Alias: {
        Type: 'AWS::Lambda::Alias',
        Properties: {
          FunctionName: { Ref: 'Fn' },
          ProvisionedConcurrencyConfig: { 'Fn::If': ['KillSwitchOff', { ProvisionedConcurrentExecutions: 2 }, { Ref: 'AWS::NoValue' }] },
        },
        Metadata: { 'aws:cdk:path': 'S/Fn/Alias/Resource' },
      },
      Big: { Type: 'AWS::RDS::DBInstance', Properties: { DBInstanceClass: 'db.x2g.16xlarge', Engine: 'postgres' }, Metadata: { 'aws:cdk:path': 'S/Big/Resource' } },
    },
  });

  test('renders intrinsic functions with construct paths and ${...} for tokens inside strings', () => {
    expect(template.render({ 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe('S/Fn.Arn');
    expect(template.render({ Ref: 'Alias' })).toBe('S/Fn/Alias');
    expect(template.render({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':lambda:', { 'Fn::GetAtt': ['Fn', 'Arn'] }, ':*']] }))
      .toBe('arn:${AWS::Partition}:lambda:${S/Fn.Arn}:*');
    expect(template.render({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}' })).toBe('arn:${AWS::Partition}:s3:::${Bucket}');
  });

  test('provisioned concurrency costs memory × environments × 730 h at the construct\'s arm64 price while the kill switch is off by default', () => {
    const items = costFloor(template).filter(item => item.item.startsWith('Provisioned concurrency'));
    expect(items).toHaveLength(1);
    expect(monthlyUsd(items[0])).toBeCloseTo(2 * 1 * 730 * 3600 * 0.0000033334, 6);
  });

  test('provisioned concurrency drops out of the floor when the parameter default turns the kill switch on', () => {
    const switchedOn = new StackTemplate('S', {
      ...{ Parameters: { KillSwitch: { Default: 'on' } }, Conditions: { KillSwitchOff: { 'Fn::Equals': [{ Ref: 'KillSwitch' }, 'off'] } } },
      Resources: { Fn: template.resource('Fn'), Alias: template.resource('Alias') },
    });
    expect(costFloor(switchedOn)).toEqual([]);
  });

  test('provisioned concurrency set by DatabaseFunction\'s concurrency resource is priced the same, and not while the kill switch is on', () => {
    const managed = (killSwitch: string) => new StackTemplate('S', {
      Parameters: { KillSwitch: { Default: killSwitch } },
      Resources: {
        Fn: template.resource('Fn'),
        Concurrency: {
          Type: 'Custom::FunctionConcurrency',
          Properties: { FunctionName: { Ref: 'Fn' }, Qualifier: 'live', ProvisionedConcurrentExecutions: 3, KillSwitch: { Ref: 'KillSwitch' } },
          Metadata: { 'aws:cdk:path': 'S/Fn/ConcurrencySettings/Default' },
        },
      },
    });
    const items = costFloor(managed('off'));
    expect(items.map(item => [item.item, item.quantityText])).toEqual([
      ['Provisioned concurrency: S/Fn/ConcurrencySettings/Default (1024 MB, arm64)', '3 environment(s) × 1 GB × 730 h × 3600 s'],
    ]);
    expect(monthlyUsd(items[0])).toBeCloseTo(3 * 730 * 3600 * 0.0000033334, 6);
    expect(costFloor(managed('on'))).toEqual([]);
  });

  test('a DB instance class missing from the price table is listed as unpriced, not guessed', () => {
    const item = costFloor(template).find(i => i.item.includes('db.x2g.16xlarge'))!;
    expect(item.unpriced).toBe('no price for db.x2g.16xlarge (postgres) in the table');
    expect(monthlyUsd(item)).toBe(0);
    expect(totalUsd([item])).toBe(0);
  });

  test('a managed policy of the template that a role attaches through ManagedPolicyArns lists that role; other ARNs keep rows of their own', () => {
    const attached = new StackTemplate('M', {
      Resources: {
        Shared: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'xray:PutTraceSegments', Resource: '*' }] } },
          Metadata: { 'aws:cdk:path': 'M/Shared/Resource' },
        },
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: { ManagedPolicyArns: [{ Ref: 'Shared' }, 'arn:aws:iam::aws:policy/ReadOnlyAccess'] },
          Metadata: { 'aws:cdk:path': 'M/Role/Resource' },
        },
      },
    });
    expect(identityStatements(attached, []).map(statement => statement.principals)).toEqual([['M/Role']]);
    expect(managedPolicyAttachments(attached)).toEqual([{ principal: 'M/Role', policy: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }]);
  });

  test('writeReview writes one file per stack plus the index and removes the review of a stack that is gone', () => {
    const app = testApp();
    inlineFunction(new Stack(app, 'Only'), 'Fn');
    const out = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '.', 'review-'));
    fs.writeFileSync(path.join(out, 'Removed.md'), 'stale');
    const files = writeReview(app.synth().directory, out);
    expect(files.map(file => file.name)).toEqual(['Only.md', 'README.md']);
    expect(fs.readdirSync(out).sort()).toEqual(['Only.md', 'README.md']);
    fs.rmSync(out, { recursive: true });
  });
});
