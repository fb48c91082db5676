import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { logicalIdOf, referencedLogicalId, resourcesInTemplateOf } from './template';

/** One statement of a resolved IAM policy document. */
export interface Statement {
  readonly Effect?: unknown;
  readonly Principal?: unknown;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

/** The statements of a resolved policy document. */
export function statementsOf(document: unknown): Statement[] {
  const statements = (document as { Statement?: unknown } | undefined)?.Statement;
  return asArray(statements).filter((statement): statement is Statement => typeof statement === 'object' && statement !== null);
}

/** A value that may be one element or a list, as a list. */
export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** An IAM action with its wildcards (`rds-db:*`, `*`) as a case-insensitive pattern. */
export function actionPattern(action: string): RegExp {
  const pattern = action.split('').map(char => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${pattern}$`, 'i');
}

/** True when an Allow statement's actions include `action` (wildcards count). */
export function allowsAction(statement: Statement, action: string): boolean {
  return statement.Effect === 'Allow'
    && asArray(statement.Action).some(candidate => typeof candidate === 'string' && actionPattern(candidate).test(action));
}

/**
 * The resolved policy documents of every role of the node's template, by the
 * role's logical id: its inline `Policies`, and the `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` resources of the template attached to it. AWS
 * managed policies and policies of other templates are not seen.
 */
export function policyDocumentsByRole(node: CfnResource): Map<string, unknown[]> {
  const documents = new Map<string, unknown[]>();
  for (const attachment of policyAttachments(node)) {
    documents.set(attachment.roleId, [...documents.get(attachment.roleId) ?? [], attachment.document()]);
  }
  return documents;
}

/** The resolved policy documents of one role of the node's template (see `policyDocumentsByRole`). */
export function policyDocumentsOf(node: CfnResource, roleId: string): unknown[] {
  return policyAttachments(node).filter(attachment => attachment.roleId === roleId).map(attachment => attachment.document());
}

/** A policy document attached to a role, resolved only when asked: resolving every document of a template is slow. */
interface PolicyAttachment {
  readonly roleId: string;
  readonly document: () => unknown;
}

function policyAttachments(node: CfnResource): PolicyAttachment[] {
  const stack = Stack.of(node);
  const attachments: PolicyAttachment[] = [];
  const roleIds = (policy: CfnResource, roles: unknown) => asArray(stack.resolve(roles))
    .flatMap(role => referencedLogicalId(policy, role) ?? []);
  const managed = new Map(resourcesInTemplateOf(node, iam.CfnManagedPolicy.isCfnManagedPolicy).map(policy => [logicalIdOf(policy), policy]));
  const policies: Array<iam.CfnPolicy | iam.CfnManagedPolicy> = [...resourcesInTemplateOf(node, iam.CfnPolicy.isCfnPolicy), ...managed.values()];
  for (const policy of policies) {
    for (const roleId of roleIds(policy, policy.roles)) {
      attachments.push({ roleId, document: () => stack.resolve(policy.policyDocument) });
    }
  }
  for (const role of resourcesInTemplateOf(node, iam.CfnRole.isCfnRole)) {
    const roleId = logicalIdOf(role);
    for (const policy of asArray(stack.resolve(role.policies))) {
      attachments.push({ roleId, document: () => (policy as { policyDocument?: unknown } | undefined)?.policyDocument });
    }
    for (const arn of asArray(stack.resolve(role.managedPolicyArns))) {
      const policy = managed.get(referencedLogicalId(role, arn) ?? '');
      if (policy) {
        attachments.push({ roleId, document: () => stack.resolve(policy.policyDocument) });
      }
    }
  }
  return attachments;
}
