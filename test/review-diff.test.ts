import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { diffAssemblies, generateReview, renderDiff } from '../lib/review';
import { PROJECT_ROOT } from './support/app';

/**
 * Two small cloud assemblies written by hand (manifest, template, validation
 * report), so each kind of change is known exactly: the head replaces a
 * DynamoDB table under a new logical id, an SQS queue by renaming it, removes
 * an S3 bucket, adds a KMS key and a topic, swaps an S3 read for a wildcard
 * statement, closes 5432 between two groups and opens 443 to the internet,
 * and adds an IAM5 acknowledgement.
 */
type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;
type Suppressed = Array<{ rule: string; path: string; reason: string }>;

const INLINE_REASON = 'Inline policies keep each grant next to the role that needs it.';
const WILDCARD_REASON = 'ListAllMyBuckets has no resource-level permissions.';

function writeAssembly(directory: string, resources: Resources, suppressed: Suppressed, paths: Record<string, string> = {}): string {
  fs.mkdirSync(directory, { recursive: true });
  const withPaths = Object.fromEntries(Object.entries(resources).map(([id, resource]) =>
    [id, { ...resource, Metadata: { 'aws:cdk:path': `App/${paths[id] ?? id}/Resource` } }]));
  fs.writeFileSync(path.join(directory, 'App.template.json'), JSON.stringify({ Resources: withPaths }));
  fs.writeFileSync(path.join(directory, 'manifest.json'), JSON.stringify({
    version: '55.0.0',
    artifacts: { App: { type: 'aws:cloudformation:stack', displayName: 'App', properties: { templateFile: 'App.template.json' } } },
  }));
  fs.writeFileSync(path.join(directory, 'validation-report.json'), JSON.stringify({
    version: '1', title: 'Validation Report',
    pluginReports: [{
      pluginName: 'packs', conclusion: 'success', violations: [],
      suppressedViolations: suppressed.map(({ rule, path: constructPath, reason }) => ({
        ruleName: rule, reason, acknowledgedAt: constructPath, violatingConstructs: [{ constructPath: `App/${constructPath}/Resource` }],
      })),
    }],
  }));
  return directory;
}

const group = (id: string, ingress: unknown[] = []) => ({
  [id]: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: id, SecurityGroupIngress: ingress, SecurityGroupEgress: [{ CidrIp: '255.255.255.255/32', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 }] } },
});
const policy = (statements: unknown[]) => ({
  Policy: { Type: 'AWS::IAM::Policy', Properties: { PolicyName: 'p', Roles: [{ Ref: 'Role' }], PolicyDocument: { Version: '2012-10-17', Statement: statements } } },
});
const common: Resources = {
  Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
  Secret: { Type: 'AWS::SecretsManager::Secret', Properties: {} },
  ...group('Other'),
};
const inlineAcknowledged: Suppressed = ['HIPAA.Security-IAMNoInlinePolicy', 'NIST.800.53.R5-IAMNoInlinePolicy']
  .flatMap(rule => ['Policy', 'Role'].map(on => ({ rule, path: on, reason: INLINE_REASON })));

const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'review-diff-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const baseResources: Resources = {
  ...common,
  ...policy([{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::reports/summary.csv' }]),
  ...group('Database', [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': ['Other', 'GroupId'] } }]),
  TableOld: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] } },
  Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders', VisibilityTimeout: 30 } },
  Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
};
const base = writeAssembly(path.join(work, 'base'), baseResources, inlineAcknowledged, { TableOld: 'Table' });

const head = writeAssembly(path.join(work, 'head'), {
  ...common,
  ...policy([{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }]),
  ...group('Database', [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }]),
  TableNew: { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] } },
  Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders-v2', VisibilityTimeout: 30 } },
  Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: {} } },
  Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
}, [...inlineAcknowledged, { rule: 'AwsSolutions-IAM5[Resource::*]', path: 'Policy', reason: WILDCARD_REASON }], { TableNew: 'Table' });

/** A head whose only change is a queue's visibility timeout: no data lost, no new wildcard. */
const harmless = writeAssembly(path.join(work, 'harmless'), {
  ...baseResources,
  Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders', VisibilityTimeout: 60 } },
}, inlineAcknowledged, { TableOld: 'Table' });

describe('diffAssemblies', () => {
  const diff = diffAssemblies(base, head);

  test('a stateful resource under a new logical id at the same construct path is replaced, and its data lost', () => {
    expect(diff.resources).toContainEqual({
      stack: 'App', change: 'replaced', logicalId: 'TableNew', baseLogicalId: 'TableOld', type: 'AWS::DynamoDB::Table', path: 'App/Table',
      reason: 'logical id changed from TableOld', dataLoss: true,
    });
  });

  test('a replacement-causing property changed on the same logical id replaces the resource', () => {
    expect(diff.resources).toContainEqual({
      stack: 'App', change: 'replaced', logicalId: 'Queue', type: 'AWS::SQS::Queue', path: 'App/Queue', reason: 'QueueName changed (update requires replacement)', dataLoss: true,
    });
  });

  test('resources added and removed are listed, a removed bucket as data lost', () => {
    expect(diff.resources.filter(change => change.change === 'added' || change.change === 'removed').map(change => [change.change, change.logicalId, change.dataLoss])).toEqual([
      ['removed', 'Bucket', true], ['added', 'Key', false], ['added', 'Topic', false],
    ]);
    expect(diff.dataLoss.map(change => change.logicalId)).toEqual(['Bucket', 'Queue', 'TableNew']);
  });

  test('IAM statements added and removed, the wildcard first', () => {
    expect(diff.statements.map(change => [change.change, change.policy, change.actions, change.resources, change.wildcards])).toEqual([
      ['added', 'identity', ['s3:ListAllMyBuckets'], ['*'], ['Resource::*']],
      ['removed', 'identity', ['s3:GetObject'], ['arn:aws:s3:::reports/summary.csv'], []],
    ]);
    expect(diff.newWildcards).toHaveLength(1);
  });

  test('security group paths opened and closed, with peer and port', () => {
    expect(diff.securityGroupRules).toEqual([
      { stack: 'App', change: 'opened', direction: 'ingress', source: '0.0.0.0/0', destination: 'App/Database', protocol: 'tcp', ports: '443' },
      { stack: 'App', change: 'closed', direction: 'ingress', source: 'App/Other', destination: 'App/Database', protocol: 'tcp', ports: '5432' },
    ]);
  });

  test('an added acknowledgement is listed with its rule, resource and reason; unchanged ones are not', () => {
    expect(diff.acknowledgements).toEqual([{ stack: 'App', change: 'added', rule: 'AwsSolutions-IAM5[Resource::*]', resource: 'App/Policy', reason: WILDCARD_REASON }]);
  });

  test('the monthly cost delta is the KMS key\'s $1.00', () => {
    expect(diff.costs).toEqual([{ stack: 'App', baseUsd: 0.4, headUsd: 1.4, deltaUsd: 1 }]);
  });

  test('resources updated in place name the properties that change, and lose nothing', () => {
    expect(diff.resources.filter(change => change.change === 'updated').map(change => [change.logicalId, change.reason])).toEqual([
      ['Database', 'SecurityGroupIngress changed'], ['Policy', 'PolicyDocument changed'],
    ]);
  });

  test('a change that replaces nothing stateful and grants no wildcard trips no gate', () => {
    const small = diffAssemblies(base, harmless);
    expect(small.dataLoss).toEqual([]);
    expect(small.newWildcards).toEqual([]);
    expect(small.resources).toEqual([
      { stack: 'App', change: 'updated', logicalId: 'Queue', type: 'AWS::SQS::Queue', path: 'App/Queue', reason: 'VisibilityTimeout changed', dataLoss: false },
    ]);
  });
});

/** The command from its source, in the work folder. */
const cli = (...args: string[]) => spawnSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), [path.join(PROJECT_ROOT, 'lib', 'review', 'cli.ts'), ...args],
  { cwd: work, encoding: 'utf8' });

describe('updates CloudFormation rejects', () => {
  const custom = (serviceToken: unknown) => ({
    ...common,
    Readiness: { Type: 'Custom::ProxyReadiness', Properties: { ServiceToken: serviceToken, ProxyName: 'orders' } },
  });
  const before = writeAssembly(path.join(work, 'token-base'), custom({ 'Fn::GetAtt': ['ProviderFramework', 'Arn'] }), []);
  const after = writeAssembly(path.join(work, 'token-head'), custom({ 'Fn::GetAtt': ['Handler', 'Arn'] }), []);

  test('a custom resource given another ServiceToken on the same logical id is an update CloudFormation refuses', () => {
    const diff = diffAssemblies(before, after);
    const reason = 'ServiceToken changed, which CloudFormation refuses ("Modifying service token is not allowed"): give the custom resource a new construct id, so that it is replaced';
    expect(diff.rejectedUpdates).toEqual([
      { stack: 'App', change: 'updated', logicalId: 'Readiness', type: 'Custom::ProxyReadiness', path: 'App/Readiness', reason, dataLoss: false, rejected: true },
    ]);
    expect(renderDiff(diff)).toContain(`## Updates CloudFormation rejects\n\n**1 update(s) that fail the deployment**, which then rolls back.\n\n| Stack | Logical id | Type | Construct path | Why |\n| --- | --- | --- | --- | --- |\n| App | \`Readiness\` | \`Custom::ProxyReadiness\` | \`App/Readiness\` | ${reason} |`);
  });

  test('other properties of a custom resource update it in place', () => {
    const renamed = writeAssembly(path.join(work, 'token-props'), {
      ...common,
      Readiness: { Type: 'Custom::ProxyReadiness', Properties: { ServiceToken: { 'Fn::GetAtt': ['ProviderFramework', 'Arn'] }, ProxyName: 'orders-2' } },
    }, []);
    const diff = diffAssemblies(before, renamed);
    expect(diff.rejectedUpdates).toEqual([]);
    expect(diff.resources.map(change => change.reason)).toEqual(['ProxyName changed']);
  });

  test('--fail-on rejected-update exits 3 and names it', () => {
    const result = cli('review', 'token-head', '--out', 'token-out', '--base', 'token-base', '--fail-on', 'rejected-update');
    expect(result.stderr).toBe('cdk-serverless-rds review: --fail-on rejected-update: 1 update(s) CloudFormation refuses to make\n');
    expect(result.status).toBe(3);
  });
});

describe('retained resources', () => {
  const logs = (id: string, policies: { DeletionPolicy?: string; UpdateReplacePolicy?: string }) => ({
    ...common, [id]: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 365 }, ...policies },
  });

  test('a stateful resource removed with DeletionPolicy Retain stays in the account: listed as removed, not as data lost', () => {
    const kept = diffAssemblies(writeAssembly(path.join(work, 'retain-base'), logs('Logs', { DeletionPolicy: 'Retain' }), []), writeAssembly(path.join(work, 'retain-head'), common, []));
    expect(kept.resources.map(change => [change.change, change.logicalId, change.dataLoss])).toEqual([['removed', 'Logs', false]]);
    expect(kept.dataLoss).toEqual([]);
  });

  test('one replaced under a new logical id keeps the old one only with UpdateReplacePolicy Retain; Snapshot still deletes it', () => {
    const replaced = (policy: string) => diffAssemblies(
      writeAssembly(path.join(work, `replace-${policy}-base`), logs('LogsOld', { UpdateReplacePolicy: policy, DeletionPolicy: policy }), [], { LogsOld: 'Logs' }),
      writeAssembly(path.join(work, `replace-${policy}-head`), logs('LogsNew', {}), [], { LogsNew: 'Logs' }));
    expect(replaced('Retain').dataLoss).toEqual([]);
    expect(replaced('Snapshot').dataLoss.map(change => [change.change, change.logicalId])).toEqual([['replaced', 'LogsNew']]);
  });
});

describe('renderDiff', () => {
  test('two equal assemblies have no changes', () => {
    expect(renderDiff(diffAssemblies(base, base))).toContain('\n\n_No infrastructure changes._\n');
  });

  test('stateful resources replaced or removed come first, under their own heading', () => {
    const markdown = renderDiff(diffAssemblies(base, head));
    expect(markdown.indexOf('## Data lost')).toBeLessThan(markdown.indexOf('## App'));
    expect(markdown).toContain('**3 stateful resource(s) replaced or removed: their data is deleted with them** (a `Snapshot` policy keeps a final snapshot; `Retain` ones are not listed).');
    expect(markdown).toContain('| App | replaced | `Queue` | `AWS::SQS::Queue` | `App/Queue` | QueueName changed (update requires replacement) |');
  });
});

describe('acknowledgements in the review', () => {
  test('identical rows are merged: one row per reason and set of rules, with every resource; a wildcard is marked with its finding', () => {
    const review = generateReview(head).find(file => file.name === 'App.md')!.content;
    const rows = review.slice(review.indexOf('## Acknowledgements'), review.indexOf('## Monthly cost')).split('\n').filter(line => line.startsWith('| `'));
    expect(rows).toEqual([
      `| \`AwsSolutions-IAM5[Resource::*]\` | ${WILDCARD_REASON} | \`App/Policy\` | **wildcard**: \`Resource::*\` |`,
      `| \`HIPAA.Security-IAMNoInlinePolicy\`<br>\`NIST.800.53.R5-IAMNoInlinePolicy\` | ${INLINE_REASON} | \`App/Policy\`<br>\`App/Role\` | — |`,
    ]);
    expect(review).toContain('5 finding(s) of the validation plugins acknowledged, in 2 group(s) of the same reason and rules (from validation-report.json).');
  });
});

describe('cdk-serverless-rds review --base', () => {
  test('writes the review and DIFF.md, prints the diff and exits 0 without --fail-on', () => {
    const result = cli('review', 'head', '--out', 'out', '--base', 'base');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(fs.readdirSync(path.join(work, 'out')).sort()).toEqual(['App.md', 'DIFF.md', 'README.md']);
    const markdown = fs.readFileSync(path.join(work, 'out', 'DIFF.md'), 'utf8');
    expect(result.stdout).toContain(markdown);
    expect(markdown).toContain('from the base cloud assembly `base` (manifest version 55.0.0; stacks: App) to `head` (manifest version 55.0.0; stacks: App).');
    expect(markdown).toContain('| App | 2 / 2 / 2 / 1 | 3 | 1 / 1 (1) | 1 / 1 | 1 / 0 | $0.40 → $1.40 (+$1.00) |');
    expect(markdown).toContain('| App | replaced | `TableNew` | `AWS::DynamoDB::Table` | `App/Table` | logical id changed from TableOld |');
    expect(markdown).toContain('| added | identity | `App/Role` | Allow | `s3:ListAllMyBuckets` | `*` | — | **wildcard**: `Resource::*` |');
  });

  test('exits 3 with --fail-on data-loss and names what tripped it', () => {
    const result = cli('review', 'head', '--out', 'out', '--base', 'base', '--fail-on', 'data-loss');
    expect(result.status).toBe(3);
    expect(result.stderr).toBe('cdk-serverless-rds review: --fail-on data-loss: 3 stateful resource(s) replaced or removed\n');
  });

  test('exits 3 with --fail-on new-wildcard', () => {
    const result = cli('review', 'head', '--out', 'out', '--base', 'base', '--fail-on=data-loss,new-wildcard');
    expect(result.status).toBe(3);
    expect(result.stderr).toContain('cdk-serverless-rds review: --fail-on new-wildcard: 1 added IAM statement(s) with a wildcard\n');
  });

  test('exits 0 with both gates when the change is harmless', () => {
    const result = cli('review', 'harmless', '--out', 'out', '--base', 'base', '--fail-on', 'data-loss,new-wildcard');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('| App | 0 / 0 / 1 / 0 | 0 | 0 / 0 (0) | 0 / 0 | 0 / 0 | unchanged |');
  });

  test.each([
    [['review', 'missing'], 'cdk-serverless-rds: assembly missing is not a cloud assembly (no manifest.json in it): run `cdk synth` first, or pass the directory it writes (cdk.out by default)\n'],
    [['review', 'head', '--base', 'missing'], 'cdk-serverless-rds: --base missing is not a cloud assembly (no manifest.json in it): run `cdk synth` first, or pass the directory it writes (cdk.out by default)\n'],
    [['review', 'head', '--colour'], 'cdk-serverless-rds: unknown option \'--colour\': see --help\n'],
    [['review', 'head', '--out'], 'cdk-serverless-rds: --out needs a value: see --help\n'],
    [['review', 'head', '--base', 'base', '--fail-on', 'cost'], 'cdk-serverless-rds: --fail-on cost is not a known change: use data-loss, new-wildcard, rejected-update\n'],
    [['review', 'head', '--fail-on', 'data-loss'], 'cdk-serverless-rds: --fail-on needs --base <assembly>: it gates on the changes between two assemblies\n'],
    [['review', 'head', 'base'], 'cdk-serverless-rds: one assembly directory expected, got 2: head base\n'],
    [['diff'], 'cdk-serverless-rds: unknown command \'diff\': the only command is review\n'],
    [[], 'cdk-serverless-rds: no command given: use `cdk-serverless-rds review [assembly]`\n'],
  ])('%j is a usage error: exit 2', (args, message) => {
    const result = cli(...args);
    expect(result.stderr).toBe(message);
    expect(result.status).toBe(2);
  });

  test('--help documents the command and the exit codes', () => {
    const result = cli('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: cdk-serverless-rds review [assembly] [options]');
    expect(result.stdout).toContain('  3  a change listed in --fail-on was found');
    expect(result.stdout).toContain('  2  usage error: unknown command or option, missing value, no assembly');
  });

  test('an assembly that cannot be read exits 1 naming the file', () => {
    const broken = path.join(work, 'broken');
    fs.cpSync(base, broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'App.template.json'), '{"Resources": ');
    const result = cli('review', 'broken', '--out', 'out');
    expect(result.status).toBe(1);
    // The parser's own words in the parentheses vary with the Node.js version.
    expect(result.stderr).toMatch(/^cdk-serverless-rds: broken\/App\.template\.json cannot be read as JSON \(.+\): synthesize the app again\n$/);
  });

  test('a review without --base removes the DIFF.md an earlier run left', () => {
    expect(cli('review', 'head', '--out', 'stale', '--base', 'base').status).toBe(0);
    expect(cli('review', 'head', '--out', 'stale').status).toBe(0);
    expect(fs.readdirSync(path.join(work, 'stale')).sort()).toEqual(['App.md', 'README.md']);
  });

  test('defaults to cdk.out and review/ in the working directory', () => {
    fs.cpSync(base, path.join(work, 'cdk.out'), { recursive: true });
    const result = cli('review');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('Wrote 2 review file(s) to review\n');
    expect(fs.readFileSync(path.join(work, 'review', 'App.md'), 'utf8')).toContain('from the cloud assembly `cdk.out`');
  });
});
