import { parse } from 'path';
import { CfnResource } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NagRuleCompliance, NagRules } from 'cdk-nag';

/**
 * RDS Proxies require TLS from their clients (`RequireTLS` true; it is false
 * when absent).
 * @param node the CfnResource to check
 */
export const ProxyTLSRequired = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof rds.CfnDBProxy)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return NagRules.resolveIfPrimitive(node, node.requireTls) === true ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
