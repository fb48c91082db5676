import { AssemblyStack, CloudAssembly, readAssembly } from './assembly';
import { costFloor, totalUsd } from './cost';
import { identityStatements, resourcePolicies, ResourcePolicyRow } from './iam';
import { code, lines, table, tableOrNone, text, usd } from './markdown';
import { securityGroupRules } from './network';
import { assemblyNameOf, producer } from './report';
import { CfnResource, compare, StackTemplate, unique } from './template';

const DOCS = 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference';
const RDS_SCHEMAS = 'https://github.com/aws-cloudformation/aws-cloudformation-resource-providers-rds';

/**
 * Properties whose change makes CloudFormation replace the resource ("Update
 * requires: Replacement" in the template reference; `createOnlyProperties` in
 * the resource provider schemas), for the stateful types: a replaced or
 * removed resource of these types loses its data. Properties that replace
 * only in some cases (e.g. a DB instance's AvailabilityZone) are left out,
 * except Engine, MasterUsername and the snapshot and source properties, which
 * replace whenever they change a created resource.
 */
export const REPLACEMENT_PROPERTIES: { readonly [type: string]: { readonly properties: readonly string[]; readonly source: string } } = {
  'AWS::RDS::DBCluster': {
    properties: ['AvailabilityZones', 'DBClusterIdentifier', 'DBSubnetGroupName', 'DatabaseName', 'Engine', 'EngineMode', 'KmsKeyId', 'MasterUsername',
      'PubliclyAccessible', 'RestoreType', 'SnapshotIdentifier', 'SourceDBClusterIdentifier', 'SourceRegion', 'StorageEncrypted', 'UseLatestRestorableTime'],
    source: `${DOCS}/aws-resource-rds-dbcluster.html; ${RDS_SCHEMAS}/blob/master/aws-rds-dbcluster/aws-rds-dbcluster.json`,
  },
  'AWS::RDS::DBInstance': {
    properties: ['CharacterSetName', 'CustomIAMInstanceProfile', 'DBClusterIdentifier', 'DBClusterSnapshotIdentifier', 'DBInstanceIdentifier', 'DBName',
      'DBSnapshotIdentifier', 'DBSubnetGroupName', 'Engine', 'KmsKeyId', 'MasterUsername', 'NcharCharacterSetName', 'Port', 'RestoreTime',
      'SourceDBInstanceIdentifier', 'SourceRegion', 'StorageEncrypted', 'Timezone', 'UseLatestRestorableTime'],
    source: `${DOCS}/aws-resource-rds-dbinstance.html; ${RDS_SCHEMAS}/blob/master/aws-rds-dbinstance/aws-rds-dbinstance.json`,
  },
  'AWS::RDS::DBProxy': { properties: ['DBProxyName', 'EngineFamily', 'VpcSubnetIds'], source: `${DOCS}/aws-resource-rds-dbproxy.html` },
  'AWS::DynamoDB::Table': { properties: ['TableName', 'KeySchema', 'ImportSourceSpecification'], source: `${DOCS}/aws-resource-dynamodb-table.html` },
  'AWS::S3::Bucket': { properties: ['BucketName'], source: `${DOCS}/aws-resource-s3-bucket.html` },
  'AWS::SQS::Queue': { properties: ['QueueName', 'FifoQueue'], source: `${DOCS}/aws-resource-sqs-queue.html` },
  'AWS::Logs::LogGroup': { properties: ['LogGroupName'], source: `${DOCS}/aws-resource-logs-loggroup.html` },
  // CloudFormation refuses these changes instead of replacing the key, so the deploy fails: still a change a reviewer must stop.
  'AWS::KMS::Key': { properties: ['KeySpec', 'KeyUsage', 'MultiRegion', 'Origin'], source: `${DOCS}/aws-resource-kms-key.html` },
  'AWS::SecretsManager::Secret': { properties: ['Name'], source: `${DOCS}/aws-resource-secretsmanager-secret.html` },
  'AWS::EFS::FileSystem': { properties: ['AvailabilityZoneName', 'Encrypted', 'KmsKeyId', 'PerformanceMode'], source: `${DOCS}/aws-resource-efs-filesystem.html` },
};

/** Resource types that hold data: replacing or removing one loses it. */
export function isStateful(type: string): boolean {
  return type in REPLACEMENT_PROPERTIES;
}

/**
 * Whether removing (`DeletionPolicy`) or replacing (`UpdateReplacePolicy`)
 * the base's resource deletes its data: a stateful type that the policy does
 * not retain. A snapshot policy still deletes the resource; its data then
 * lives on only in the snapshot.
 */
function losesData(resource: CfnResource, how: 'removed' | 'replaced'): boolean {
  const policy = how === 'removed' ? resource.DeletionPolicy : resource.UpdateReplacePolicy;
  return isStateful(resource.Type) && policy !== 'Retain' && policy !== 'RetainExceptOnCreate';
}

export interface ResourceChange {
  readonly stack: string;
  readonly change: 'added' | 'replaced' | 'updated' | 'removed';
  readonly logicalId: string;
  /** The logical id in the base assembly, when a replacement changed it. */
  readonly baseLogicalId?: string;
  readonly type: string;
  readonly path: string;
  /** Why a resource is replaced, or which properties an update changes. */
  readonly reason?: string;
  /** True for a stateful resource replaced or removed. */
  readonly dataLoss: boolean;
  /** True for an update CloudFormation refuses to make, which fails the deployment. */
  readonly rejected?: boolean;
}

/** A statement of an identity or a resource policy that the head adds or no longer has. */
export interface StatementChange extends ResourcePolicyRow {
  readonly stack: string;
  readonly change: 'added' | 'removed';
  readonly policy: 'identity' | 'resource';
  /** cdk-nag's finding ids for the statement's wildcards; empty for resource policies. */
  readonly wildcards: readonly string[];
}

export interface SecurityGroupRuleChange {
  readonly stack: string;
  readonly change: 'opened' | 'closed';
  readonly direction: string;
  readonly source: string;
  readonly destination: string;
  readonly protocol: string;
  readonly ports: string;
}

export interface AcknowledgementChange {
  readonly stack: string;
  readonly change: 'added' | 'removed';
  readonly rule: string;
  readonly resource: string;
  readonly reason: string;
}

export interface CostChange {
  readonly stack: string;
  readonly baseUsd: number;
  readonly headUsd: number;
  readonly deltaUsd: number;
}

/** What changed from one cloud assembly (the base, e.g. the main branch) to another (the head, e.g. a pull request). */
export interface AssemblyDiff {
  readonly header: string;
  readonly resources: readonly ResourceChange[];
  readonly statements: readonly StatementChange[];
  readonly securityGroupRules: readonly SecurityGroupRuleChange[];
  readonly acknowledgements: readonly AcknowledgementChange[];
  readonly costs: readonly CostChange[];
  /** Stateful resources replaced or removed. */
  readonly dataLoss: readonly ResourceChange[];
  /** Added identity statements that allow wildcards. */
  readonly newWildcards: readonly StatementChange[];
  /** Updates CloudFormation refuses to make, so the deployment fails and rolls back. */
  readonly rejectedUpdates: readonly ResourceChange[];
}

export interface DiffOptions {
  /** @default the base directory's own name */
  readonly baseName?: string;
  /** @default the head directory's own name */
  readonly headName?: string;
}

/** Compare two cloud assembly directories stack by stack (stacks matched by name). */
export function diffAssemblies(baseDirectory: string, headDirectory: string, options: DiffOptions = {}): AssemblyDiff {
  const base = readAssembly(baseDirectory);
  const head = readAssembly(headDirectory);
  const describe = (assembly: CloudAssembly, name: string): string =>
    `\`${name}\` (manifest version ${assembly.manifestVersion}; stacks: ${assembly.stacks.map(stack => stack.template.stackName).join(', ') || 'none'})`;
  const header = `Generated by ${producer()} (\`cdk-serverless-rds review --base\`): from the base cloud assembly `
    + `${describe(base, options.baseName ?? assemblyNameOf(baseDirectory))} to ${describe(head, options.headName ?? assemblyNameOf(headDirectory))}.`;
  const names = unique([...base.stacks, ...head.stacks].map(stack => stack.template.stackName));
  const pairs = names.map(name => ({
    name,
    before: base.stacks.find(stack => stack.template.stackName === name),
    after: head.stacks.find(stack => stack.template.stackName === name),
  }));
  const resources = pairs.flatMap(({ name, before, after }) => resourceChanges(name, before?.template, after?.template));
  const statements = pairs.flatMap(({ name, before, after }) => statementChanges(name, before, after))
    .sort((a, b) => Number(b.wildcards.length > 0) - Number(a.wildcards.length > 0) || compare(a.stack, b.stack) || compare(a.change, b.change));
  return {
    header,
    resources,
    statements,
    securityGroupRules: pairs.flatMap(({ name, before, after }) => ruleChanges(name, before?.template, after?.template)),
    acknowledgements: pairs.flatMap(({ name, before, after }) => acknowledgementChanges(name, before, after)),
    costs: pairs.flatMap(({ name, before, after }) => {
      const baseUsd = before ? totalUsd(costFloor(before.template)) : 0;
      const headUsd = after ? totalUsd(costFloor(after.template)) : 0;
      return baseUsd === headUsd ? [] : [{ stack: name, baseUsd, headUsd, deltaUsd: Math.round((headUsd - baseUsd) * 100) / 100 }];
    }),
    dataLoss: resources.filter(change => change.dataLoss),
    newWildcards: statements.filter(change => change.change === 'added' && change.wildcards.length > 0),
    rejectedUpdates: resources.filter(change => change.rejected),
  };
}

function resourceChanges(stack: string, before: StackTemplate | undefined, after: StackTemplate | undefined): ResourceChange[] {
  const baseIds = before ? [...before.resources.keys()] : [];
  const headIds = after ? [...after.resources.keys()] : [];
  const changes: ResourceChange[] = [];
  const removed = new Set(baseIds.filter(id => !after?.resources.has(id)));
  const added = new Set(headIds.filter(id => !before?.resources.has(id)));
  // A construct that keeps its path under a new logical id (renamed, moved, or its id overridden) is a new physical resource.
  for (const id of [...added]) {
    const constructPath = after!.constructPathOf(id);
    const previous = [...removed].find(old => before!.constructPathOf(old) === constructPath && constructPath !== old);
    if (previous !== undefined) {
      added.delete(id);
      removed.delete(previous);
      const type = after!.resource(id).Type;
      changes.push({ stack, change: 'replaced', logicalId: id, baseLogicalId: previous, type, path: after!.pathOf(id), reason: `logical id changed from ${previous}`, dataLoss: losesData(before!.resource(previous), 'replaced') });
    }
  }
  for (const id of headIds.filter(candidate => before?.resources.has(candidate))) {
    const reason = replacementReason(before!, after!, id);
    const type = after!.resource(id).Type;
    if (reason) {
      changes.push({ stack, change: 'replaced', logicalId: id, type, path: after!.pathOf(id), reason, dataLoss: losesData(before!.resource(id), 'replaced') });
      continue;
    }
    const updated = unique([...Object.keys(before!.properties(id)), ...Object.keys(after!.properties(id))])
      .filter(property => JSON.stringify(before!.properties(id)[property]) !== JSON.stringify(after!.properties(id)[property]));
    if (updated.length) {
      const rejection = rejectionReason(type, updated);
      changes.push({
        stack, change: 'updated', logicalId: id, type, path: after!.pathOf(id), reason: rejection ?? `${updated.join(', ')} changed`, dataLoss: false,
        ...(rejection ? { rejected: true } : {}),
      });
    }
  }
  for (const id of added) {
    changes.push({ stack, change: 'added', logicalId: id, type: after!.resource(id).Type, path: after!.pathOf(id), dataLoss: false });
  }
  for (const id of removed) {
    const type = before!.resource(id).Type;
    changes.push({ stack, change: 'removed', logicalId: id, type, path: before!.pathOf(id), dataLoss: losesData(before!.resource(id), 'removed') });
  }
  return changes.sort((a, b) => Number(b.dataLoss) - Number(a.dataLoss) || compare(a.change, b.change) || compare(a.path, b.path));
}

/**
 * Why CloudFormation refuses an in-place update, if it does: a custom
 * resource cannot move to another ServiceToken (the deployment fails with
 * "Modifying service token is not allowed").
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html
 */
function rejectionReason(type: string, updated: readonly string[]): string | undefined {
  const custom = type === 'AWS::CloudFormation::CustomResource' || type.startsWith('Custom::');
  return custom && updated.includes('ServiceToken')
    ? 'ServiceToken changed, which CloudFormation refuses ("Modifying service token is not allowed"): give the custom resource a new construct id, so that it is replaced'
    : undefined;
}

function replacementReason(before: StackTemplate, after: StackTemplate, id: string): string | undefined {
  const [oldType, newType] = [before.resource(id).Type, after.resource(id).Type];
  if (oldType !== newType) {
    return `type changed from ${oldType}`;
  }
  const changed = (REPLACEMENT_PROPERTIES[newType]?.properties ?? [])
    .filter(property => JSON.stringify(before.properties(id)[property]) !== JSON.stringify(after.properties(id)[property]));
  return changed.length ? `${changed.join(', ')} changed (update requires replacement)` : undefined;
}

function statementChanges(stack: string, before: AssemblyStack | undefined, after: AssemblyStack | undefined): StatementChange[] {
  const statementsOf = (side: AssemblyStack | undefined): Array<Omit<StatementChange, 'stack' | 'change'>> => (side ? [
    ...identityStatements(side.template, side.acknowledgements).map(s => ({
      policy: 'identity' as const, principals: s.principals, effect: s.effect, actions: s.actions, resources: s.resources, conditions: s.conditions, wildcards: s.wildcards,
    })),
    ...resourcePolicies(side.template).map(row => ({
      policy: 'resource' as const, principals: row.principals, effect: row.effect, actions: row.actions, resources: row.resources, conditions: row.conditions, wildcards: [],
    })),
  ] : []);
  return setChanges(statementsOf(before), statementsOf(after), statement => JSON.stringify([statement.policy, statement.principals, statement.effect,
    statement.actions, statement.resources, statement.conditions]))
    .map(({ item, added }) => ({ stack, change: added ? 'added' : 'removed', ...item }));
}

function ruleChanges(stack: string, before: StackTemplate | undefined, after: StackTemplate | undefined): SecurityGroupRuleChange[] {
  const rulesOf = (side: StackTemplate | undefined) => (side ? securityGroupRules(side) : [])
    .map(({ direction, source, destination, protocol, ports }) => ({ direction, source, destination, protocol, ports }));
  return setChanges(rulesOf(before), rulesOf(after), rule => JSON.stringify(rule))
    .map(({ item, added }) => ({ stack, change: added ? 'opened' : 'closed', ...item }));
}

function acknowledgementChanges(stack: string, before: AssemblyStack | undefined, after: AssemblyStack | undefined): AcknowledgementChange[] {
  const findingsOf = (side: AssemblyStack | undefined) => (side?.acknowledgedFindings ?? [])
    .flatMap(finding => finding.resources.map(resource => ({ rule: finding.rule, resource: resource.replace(/\/Resource$/, ''), reason: finding.reason })));
  return setChanges(findingsOf(before), findingsOf(after), finding => JSON.stringify(finding))
    .map(({ item, added }) => ({ stack, change: added ? 'added' : 'removed', ...item }));
}

/** Items only in `after` (added) and only in `before` (removed), by key, each once. */
function setChanges<T>(before: readonly T[], after: readonly T[], key: (item: T) => string): Array<{ item: T; added: boolean }> {
  const beforeKeys = new Set(before.map(key));
  const afterKeys = new Set(after.map(key));
  const once = (items: readonly T[], others: Set<string>, added: boolean) => [...new Map(items.filter(item => !others.has(key(item))).map(item => [key(item), { item, added }])).entries()]
    .sort(([a], [b]) => compare(a, b)).map(([, change]) => change);
  return [...once(after, beforeKeys, true), ...once(before, afterKeys, false)];
}

function signedUsd(amount: number): string {
  return amount < 0 ? `-${usd(-amount)}` : `+${usd(amount)}`;
}

/** The diff as Markdown for a pull request: data loss and new wildcards first, then every change per stack. */
export function renderDiff(diff: AssemblyDiff): string {
  const empty = !diff.resources.length && !diff.statements.length && !diff.securityGroupRules.length && !diff.acknowledgements.length && !diff.costs.length;
  const sections = [
    '# Infrastructure changes',
    diff.header,
  ];
  if (empty) {
    return [...sections, '_No infrastructure changes._'].join('\n\n') + '\n';
  }
  const stacks = unique([...diff.resources, ...diff.statements, ...diff.securityGroupRules, ...diff.acknowledgements, ...diff.costs].map(change => change.stack));
  const count = (items: ReadonlyArray<{ stack: string; change: string }>, stack: string, change: string): number =>
    items.filter(item => item.stack === stack && item.change === change).length;
  sections.push('## Summary', table(
    ['Stack', 'Resources added / replaced / updated / removed', 'Data lost', 'IAM statements added / removed (new wildcards)', 'Security group rules opened / closed',
      'Acknowledgements added / removed', 'Monthly cost floor'],
    stacks.map(stack => {
      const cost = diff.costs.find(change => change.stack === stack);
      return [
        text(stack),
        ['added', 'replaced', 'updated', 'removed'].map(change => count(diff.resources, stack, change)).join(' / '),
        String(diff.dataLoss.filter(change => change.stack === stack).length),
        `${count(diff.statements, stack, 'added')} / ${count(diff.statements, stack, 'removed')} (${diff.newWildcards.filter(change => change.stack === stack).length})`,
        `${count(diff.securityGroupRules, stack, 'opened')} / ${count(diff.securityGroupRules, stack, 'closed')}`,
        `${count(diff.acknowledgements, stack, 'added')} / ${count(diff.acknowledgements, stack, 'removed')}`,
        cost ? `${usd(cost.baseUsd)} → ${usd(cost.headUsd)} (${signedUsd(cost.deltaUsd)})` : 'unchanged',
      ];
    })));
  if (diff.dataLoss.length) {
    sections.push('## Data lost', `**${diff.dataLoss.length} stateful resource(s) replaced or removed: their data is deleted with them** (a \`Snapshot\` policy keeps a final snapshot; \`Retain\` ones are not listed).`,
      table(['Stack', 'Change', 'Logical id', 'Type', 'Construct path', 'Why'], diff.dataLoss.map(change => [
        text(change.stack), text(change.change), code(change.logicalId), code(change.type), code(change.path), text(change.reason ?? '—'),
      ])));
  }
  if (diff.rejectedUpdates.length) {
    sections.push('## Updates CloudFormation rejects', `**${diff.rejectedUpdates.length} update(s) that fail the deployment**, which then rolls back.`,
      table(['Stack', 'Logical id', 'Type', 'Construct path', 'Why'], diff.rejectedUpdates.map(change => [
        text(change.stack), code(change.logicalId), code(change.type), code(change.path), text(change.reason ?? '—'),
      ])));
  }
  for (const stack of stacks) {
    const of = <T extends { stack: string }>(items: readonly T[]): T[] => items.filter(item => item.stack === stack);
    sections.push(`## ${stack}`,
      '### Resources',
      tableOrNone(['Change', 'Logical id', 'Type', 'Construct path', 'Why', 'Data lost'], of(diff.resources).map(change => [
        text(change.change), code(change.baseLogicalId ? `${change.baseLogicalId} → ${change.logicalId}` : change.logicalId), code(change.type), code(change.path),
        text(change.reason ?? '—'), change.dataLoss ? '**yes**' : '—',
      ]), 'No resource added, replaced, updated or removed.'),
      '### IAM statements',
      tableOrNone(['Change', 'Policy', 'Principal', 'Effect', 'Actions', 'Resources', 'Conditions', 'Wildcard'], of(diff.statements).map(change => [
        text(change.change), text(change.policy), lines(change.principals), text(change.effect), lines(change.actions), lines(change.resources), lines(change.conditions),
        change.wildcards.length ? `**wildcard**: ${change.wildcards.map(code).join(', ')}` : '—',
      ]), 'No IAM statement added or removed.'),
      '### Security group rules',
      tableOrNone(['Change', 'Source', 'Destination', 'Direction', 'Protocol', 'Ports'], of(diff.securityGroupRules).map(change => [
        text(change.change), code(change.source), code(change.destination), text(change.direction), text(change.protocol), text(change.ports),
      ]), 'No security group rule opened or closed.'),
      '### Acknowledgements',
      tableOrNone(['Change', 'Rule', 'Resource', 'Reason'], of(diff.acknowledgements).map(change => [
        text(change.change), code(change.rule), code(change.resource), text(change.reason),
      ]), 'No acknowledgement added or removed.'));
  }
  return sections.join('\n\n') + '\n';
}
