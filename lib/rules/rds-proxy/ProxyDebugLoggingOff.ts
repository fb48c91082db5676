import { parse } from 'path';
import { CfnResource } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NagRuleCompliance, NagRules } from 'cdk-nag';

/**
 * RDS Proxies do not log debug information (`DebugLogging` absent or false),
 * which includes the text of SQL statements.
 * @param node the CfnResource to check
 */
export const ProxyDebugLoggingOff = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof rds.CfnDBProxy)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return NagRules.resolveIfPrimitive(node, node.debugLogging) === true ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
