import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { allowsAction, policyDocumentsByRole, statementsOf } from '../../private/policies';
import { logicalIdOf, referencedLogicalId, referencesIn, ResourceReference, resourcesInTemplateOf } from '../../private/template';

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
  const allowsConnect = (document: unknown) => statementsOf(document).some(statement =>
    allowsAction(statement, CONNECT_ACTION) && referencesIn(statement.Resource).some(reference => reference.logicalId === proxyId));
  return new Set([...policyDocumentsByRole(proxy)]
    .filter(([, documents]) => documents.some(allowsConnect))
    .map(([roleId]) => roleId));
}
