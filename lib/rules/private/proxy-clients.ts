import { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { logicalIdOf, referencedLogicalId, referencesIn, ResourceReference, resourcesInTemplateOf } from './template';

const CONNECT_ACTION = 'rds-db:connect';

/**
 * The Lambda functions in the proxy's template that connect to it: an
 * environment variable holds the proxy's endpoint (`Fn::GetAtt` Endpoint of
 * the proxy or of one of its `AWS::RDS::DBProxyEndpoint`s) or name (`Ref`),
 * or the execution role is allowed `rds-db:connect` on a resource built from
 * the proxy (what `DatabaseProxy.grantConnect` writes).
 *
 * Functions in other stacks only see the proxy through exports, and grants on
 * literal ARNs or on `*` name no proxy, so neither is found.
 */
export function functionsConnectingTo(proxy: rds.CfnDBProxy): lambda.CfnFunction[] {
  const stack = Stack.of(proxy);
  const proxyId = logicalIdOf(proxy);
  const endpointIds = new Set([proxyId, ...resourcesInTemplateOf(proxy, rds.CfnDBProxyEndpoint.isCfnDBProxyEndpoint)
    .filter(endpoint => referencedLogicalId(endpoint, endpoint.dbProxyName) === proxyId)
    .map(logicalIdOf)]);
  const pointsAtProxy = (reference: ResourceReference) => endpointIds.has(reference.logicalId)
    && (reference.attribute === 'Endpoint' || (reference.attribute === undefined && reference.logicalId === proxyId));
  const connectingRoles = rolesAllowedToConnect(proxy, proxyId);
  return resourcesInTemplateOf(proxy, lambda.CfnFunction.isCfnFunction).filter(fn =>
    referencesIn(stack.resolve(fn.environment)).some(pointsAtProxy)
    || connectingRoles.has(referencedLogicalId(fn, fn.role) ?? ''));
}

/** Logical ids of the roles whose policies allow `rds-db:connect` through the proxy. */
function rolesAllowedToConnect(proxy: rds.CfnDBProxy, proxyId: string): Set<string> {
  const stack = Stack.of(proxy);
  const allowsConnect = (document: unknown) => statementsOf(document).some(statement =>
    statement.Effect === 'Allow'
    && asArray(statement.Action).some(action => typeof action === 'string' && actionPattern(action).test(CONNECT_ACTION))
    && referencesIn(statement.Resource).some(reference => reference.logicalId === proxyId));
  const roleIds = (node: CfnResource, roles: unknown) => asArray(stack.resolve(roles))
    .map(role => referencedLogicalId(node, role))
    .filter((id): id is string => id !== undefined);

  const policies: Array<iam.CfnPolicy | iam.CfnManagedPolicy> = [
    ...resourcesInTemplateOf(proxy, iam.CfnPolicy.isCfnPolicy),
    ...resourcesInTemplateOf(proxy, iam.CfnManagedPolicy.isCfnManagedPolicy),
  ];
  const attached = policies
    .filter(policy => allowsConnect(stack.resolve(policy.policyDocument)))
    .flatMap(policy => roleIds(policy, policy.roles));
  const inline = resourcesInTemplateOf(proxy, iam.CfnRole.isCfnRole)
    .filter(role => asArray(stack.resolve(role.policies)).some(policy => allowsConnect((policy as { policyDocument?: unknown })?.policyDocument)))
    .map(logicalIdOf);
  return new Set([...attached, ...inline]);
}

interface Statement {
  readonly Effect?: unknown;
  readonly Action?: unknown;
  readonly Resource?: unknown;
}

function statementsOf(document: unknown): Statement[] {
  const statements = (document as { Statement?: unknown } | undefined)?.Statement;
  return asArray(statements).filter((statement): statement is Statement => typeof statement === 'object' && statement !== null);
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** An IAM action with its wildcards (`rds-db:*`, `*`) as a case-insensitive pattern. */
function actionPattern(action: string): RegExp {
  const pattern = action.split('').map(char => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${pattern}$`, 'i');
}
