import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NagRuleCompliance } from 'cdk-nag';
import { functionsConnectingTo } from '../private/proxy-clients';
import { logicalIdOf, referencedLogicalId, resourcesInTemplateOf } from '../../private/template';

/** What RDS Proxy and Lambda use when the properties are absent. */
const DEFAULT_BORROW_TIMEOUT_SECONDS = 120;
const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 3;

/**
 * The functions of the target group's template that connect to its proxy
 * (see `functionsConnectingTo`) but time out before the proxy gives up
 * waiting for a free connection, each as a sentence naming the function and
 * both timeouts. A timeout that is not a literal (a parameter, an intrinsic)
 * cannot be compared and is reported as such. Empty for other resources.
 * @param node the CfnResource to check
 */
export function functionsTimingOutBeforeBorrow(node: CfnResource): string[] {
  if (!(node instanceof rds.CfnDBProxyTargetGroup)) {
    return [];
  }
  const proxyId = referencedLogicalId(node, node.dbProxyName);
  const proxy = resourcesInTemplateOf(node, rds.CfnDBProxy.isCfnDBProxy).find(candidate => logicalIdOf(candidate) === proxyId);
  if (!proxy) {
    return [];
  }
  const pool: rds.CfnDBProxyTargetGroup.ConnectionPoolConfigurationInfoFormatProperty | undefined = Stack.of(node).resolve(node.connectionPoolConfigurationInfo);
  const borrow: unknown = pool?.connectionBorrowTimeout ?? DEFAULT_BORROW_TIMEOUT_SECONDS;
  const clients = functionsConnectingTo(proxy);
  if (typeof borrow !== 'number') {
    return clients.length === 0 ? [] : [`the borrow timeout is not a literal number (${JSON.stringify(borrow)}), so it cannot be compared with the timeouts of ${clients.map(fn => fn.node.path).join(', ')}`];
  }
  return clients.flatMap(fn => {
    const timeout: unknown = Stack.of(fn).resolve(fn.timeout) ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS;
    if (typeof timeout !== 'number') {
      return [`${fn.node.path} has a timeout that is not a literal number (${JSON.stringify(timeout)}), so it cannot be compared with the borrow timeout of ${borrow} s`];
    }
    return timeout > borrow ? [] : [`${fn.node.path} times out after ${timeout} s, not after the borrow timeout of ${borrow} s`];
  });
}

/**
 * RDS Proxy target groups give up waiting for a free connection
 * (`ConnectionPoolConfigurationInfo.ConnectionBorrowTimeout`, 120 s when
 * absent) strictly before any Lambda function of the same template that
 * connects to the proxy times out (`Timeout`, 3 s when absent).
 * @param node the CfnResource to check
 */
export const ProxyBorrowTimeoutBelowFunctionTimeout = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof rds.CfnDBProxyTargetGroup)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return functionsTimingOutBeforeBorrow(node).length > 0 ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
