import { wildcardReason } from './acknowledgements';
import { Acknowledgement } from './assembly';
import { code, lines, tableOrNone, text } from './markdown';
import { asList, compare, isObject, StackTemplate, unique } from './template';

/** One statement of an identity policy, as the IAM table shows it. */
export interface IdentityStatement {
  /** Roles, users or groups the policy is attached to (construct paths). */
  readonly principals: readonly string[];
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions: readonly string[];
  /** cdk-nag's finding ids for the wildcards of the statement (`Action::s3:*`, `Resource::*`). */
  readonly wildcards: readonly string[];
  /** One entry per wildcard: its acknowledgement's reason, or undefined when none covers it. */
  readonly justifications: ReadonlyArray<{ readonly wildcard: string; readonly reason?: string }>;
}

export const NOT_ACKNOWLEDGED = '**not acknowledged**';

/** Holders of identity policies: the property listing them and the type of the policy's document. */
const ATTACHMENTS = ['Roles', 'Users', 'Groups'];
const INLINE_POLICY_HOLDERS = ['AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group'];

/** Every statement of the stack's identity policies: standalone, managed and inline. */
export function identityStatements(template: StackTemplate, acknowledgements: readonly Acknowledgement[]): IdentityStatement[] {
  const statements: IdentityStatement[] = [];
  const add = (principals: string[], document: unknown, constructPath: string): void => {
    for (const statement of asList(isObject(document) ? document.Statement : undefined).filter(isObject)) {
      statements.push(describeStatement(template, acknowledgements, principals, statement, constructPath));
    }
  };
  const attachedByArn = managedPoliciesOfHolders(template);
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const id of template.idsOfType(type)) {
      const properties = template.properties(id);
      const principals = unique([
        ...ATTACHMENTS.flatMap(key => asList(properties[key]).map(value => template.render(value))),
        ...attachedByArn.filter(({ policy }) => policy === id).map(({ holder }) => template.pathOf(holder)),
      ]).sort(compare);
      add(principals.length ? principals : [`${template.pathOf(id)} (not attached)`], properties.PolicyDocument, template.constructPathOf(id));
    }
  }
  for (const type of INLINE_POLICY_HOLDERS) {
    for (const id of template.idsOfType(type)) {
      for (const policy of asList(template.properties(id).Policies).filter(isObject)) {
        add([template.pathOf(id)], policy.PolicyDocument, template.constructPathOf(id));
      }
    }
  }
  return statements.sort((a, b) => compare(a.principals.join(), b.principals.join()) || compare(JSON.stringify(a.actions), JSON.stringify(b.actions))
    || compare(JSON.stringify(a.resources), JSON.stringify(b.resources)));
}

function describeStatement(
  template: StackTemplate, acknowledgements: readonly Acknowledgement[], principals: string[], statement: Record<string, unknown>, constructPath: string,
): IdentityStatement {
  const effect = String(statement.Effect ?? 'Allow');
  const actions = [
    ...asList(statement.Action).map(value => template.render(value)),
    ...asList(statement.NotAction).map(value => `NOT ${template.render(value)}`),
  ];
  const resources = [
    ...asList(statement.Resource).map(value => template.render(value)),
    ...asList(statement.NotResource).map(value => `NOT ${template.render(value)}`),
  ];
  // Only what is allowed widens access; cdk-nag reports no wildcard in a Deny either.
  const wildcards = effect !== 'Allow' ? [] : unique([
    ...asList(statement.Action).map(String).filter(action => action.includes('*')).map(action => `Action::${action}`),
    ...asList(statement.Resource).map(flattenLikeCdkNag).filter(resource => resource.includes('*')).map(resource => `Resource::${resource}`),
    ...asList(statement.NotAction).map(value => `NotAction::${String(value)}`),
    ...asList(statement.NotResource).map(value => `NotResource::${flattenLikeCdkNag(value)}`),
  ]);
  return {
    principals: unique(principals),
    effect,
    actions: unique(actions),
    resources: unique(resources),
    conditions: renderConditions(template, statement.Condition),
    wildcards,
    justifications: wildcards.map(wildcard => ({ wildcard, reason: wildcardReason(acknowledgements, constructPath, wildcard) })),
  };
}

/**
 * A resource as cdk-nag names it in a granular finding id
 * (`<LogicalId.Arn>` for GetAtt, `<AWS::Region>` for Ref), so the review
 * finds acknowledgements written against those ids.
 */
function flattenLikeCdkNag(value: unknown): string {
  if (typeof value === 'string') {
    return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  }
  if (isObject(value)) {
    const join = value['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      return join[1].map(flattenLikeCdkNag).join(String(join[0]));
    }
    if ('Fn::Sub' in value) {
      return flattenLikeCdkNag(value['Fn::Sub']);
    }
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      return `<${flattenLikeCdkNag(getAtt[0])}.${flattenLikeCdkNag(getAtt[1])}>`;
    }
    if ('Fn::ImportValue' in value) {
      return flattenLikeCdkNag(value['Fn::ImportValue']);
    }
    if ('Ref' in value) {
      return `<${flattenLikeCdkNag(value.Ref)}>`;
    }
  }
  return JSON.stringify(value);
}

/**
 * Managed policies of this template that roles, users and groups attach
 * through `ManagedPolicyArns` (a `Ref` to the policy) rather than the
 * policy's own `Roles`, `Users` or `Groups`.
 */
function managedPoliciesOfHolders(template: StackTemplate): Array<{ holder: string; policy: string }> {
  return INLINE_POLICY_HOLDERS.flatMap(type => template.idsOfType(type).flatMap(holder =>
    asList(template.properties(holder).ManagedPolicyArns).flatMap(arn => {
      const policy = template.referencedResource(arn);
      return policy !== undefined && template.resource(policy).Type === 'AWS::IAM::ManagedPolicy' ? [{ holder, policy }] : [];
    })));
}

/**
 * `ManagedPolicyArns` of roles, users and groups that name policies outside
 * the template (AWS managed or created elsewhere): rows of their own, as
 * their statements are not in the template.
 */
export function managedPolicyAttachments(template: StackTemplate): Array<{ principal: string; policy: string }> {
  return INLINE_POLICY_HOLDERS.flatMap(type => template.idsOfType(type).flatMap(id =>
    asList(template.properties(id).ManagedPolicyArns)
      .filter(arn => {
        const policy = template.referencedResource(arn);
        return policy === undefined || template.resource(policy).Type !== 'AWS::IAM::ManagedPolicy';
      })
      .map(arn => ({ principal: template.pathOf(id), policy: template.render(arn) }))))
    .sort((a, b) => compare(a.principal, b.principal) || compare(a.policy, b.policy));
}

export function justificationCell(statement: IdentityStatement): string {
  if (!statement.wildcards.length) {
    return '—';
  }
  const reasons = unique(statement.justifications.flatMap(({ reason }) => (reason ? [reason] : [])));
  const missing = statement.justifications.filter(({ reason }) => !reason).map(({ wildcard }) => wildcard);
  return [
    ...reasons.map(text),
    ...(missing.length ? [`${NOT_ACKNOWLEDGED}: ${missing.map(code).join(', ')}`] : []),
  ].join('<br>');
}

export function renderIdentityPolicies(template: StackTemplate, acknowledgements: readonly Acknowledgement[]): string {
  const rows = identityStatements(template, acknowledgements).map(statement => [
    lines(statement.principals),
    text(statement.effect),
    lines(statement.actions),
    lines(statement.resources),
    lines(statement.conditions),
    statement.wildcards.length ? lines(statement.wildcards) : '—',
    justificationCell(statement),
  ]);
  const managed = managedPolicyAttachments(template).map(({ principal, policy }) => [code(principal), text('Managed policy'), '—', code(policy), '—', '—', '—']);
  return tableOrNone(['Principal', 'Effect', 'Actions', 'Resources', 'Conditions', 'Wildcard', 'Justification'], [...rows, ...managed], 'No identity policies.');
}

/** Where a resource policy type keeps its document and the resources it applies to (the policy's own resource when absent). */
const RESOURCE_POLICIES: Record<string, { readonly document: string; readonly targets?: string }> = {
  'AWS::KMS::Key': { document: 'KeyPolicy' },
  'AWS::SQS::QueuePolicy': { document: 'PolicyDocument', targets: 'Queues' },
  'AWS::SNS::TopicPolicy': { document: 'PolicyDocument', targets: 'Topics' },
  'AWS::S3::BucketPolicy': { document: 'PolicyDocument', targets: 'Bucket' },
  'AWS::SecretsManager::ResourcePolicy': { document: 'ResourcePolicy', targets: 'SecretId' },
};

/** Lambda permission properties that narrow who may invoke, shown as conditions. */
const PERMISSION_CONDITIONS = ['SourceArn', 'SourceAccount', 'PrincipalOrgID', 'FunctionUrlAuthType', 'EventSourceToken'];

export interface ResourcePolicyRow {
  readonly resources: readonly string[];
  readonly effect: string;
  readonly principals: readonly string[];
  readonly actions: readonly string[];
  readonly conditions: readonly string[];
}

export function resourcePolicies(template: StackTemplate): ResourcePolicyRow[] {
  const rows: ResourcePolicyRow[] = [];
  for (const [type, { document, targets }] of Object.entries(RESOURCE_POLICIES)) {
    for (const id of template.idsOfType(type)) {
      const properties = template.properties(id);
      const resources = targets ? unique(asList(properties[targets]).map(value => template.render(value))) : [template.pathOf(id)];
      const policy = properties[document];
      for (const statement of asList(isObject(policy) ? policy.Statement : undefined).filter(isObject)) {
        rows.push({
          resources,
          effect: String(statement.Effect ?? 'Allow'),
          principals: renderPrincipals(template, statement.Principal),
          actions: unique(asList(statement.Action).map(value => template.render(value))),
          conditions: renderConditions(template, statement.Condition),
        });
      }
    }
  }
  for (const id of template.idsOfType('AWS::Lambda::Permission')) {
    const properties = template.properties(id);
    rows.push({
      resources: [template.render(properties.FunctionName)],
      effect: 'Allow',
      principals: [template.render(properties.Principal)],
      actions: [template.render(properties.Action)],
      conditions: PERMISSION_CONDITIONS.filter(key => properties[key] !== undefined).map(key => `${key} = ${template.render(properties[key])}`),
    });
  }
  return rows.sort((a, b) => compare(JSON.stringify(a), JSON.stringify(b)));
}

function renderPrincipals(template: StackTemplate, principal: unknown): string[] {
  if (!isObject(principal)) {
    return [template.render(principal ?? '—')];
  }
  return unique(Object.entries(principal).flatMap(([kind, values]) => asList(values).map(value => `${kind}: ${template.render(value)}`)));
}

function renderConditions(template: StackTemplate, condition: unknown): string[] {
  if (!isObject(condition)) {
    return [];
  }
  return unique(Object.entries(condition).flatMap(([operator, tests]) => Object.entries(isObject(tests) ? tests : {})
    .map(([key, value]) => `${operator} ${key} = ${asList(value).map(item => template.render(item)).join(', ')}`)));
}

export function renderResourcePolicies(template: StackTemplate): string {
  return tableOrNone(['Resource', 'Effect', 'Principal', 'Actions', 'Conditions'],
    resourcePolicies(template).map(row => [lines(row.resources), text(row.effect), lines(row.principals), lines(row.actions), lines(row.conditions)]),
    'No resource policies.');
}
