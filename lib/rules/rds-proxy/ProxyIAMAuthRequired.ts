import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NagRuleCompliance, NagRules } from 'cdk-nag';

/**
 * RDS Proxies authenticate every client with IAM: each `Auth` entry has
 * `IAMAuth: REQUIRED`, and there is at least one entry unless
 * `DefaultAuthScheme` is `IAM_AUTH` (end-to-end IAM, which needs no entries).
 * @param node the CfnResource to check
 */
export const ProxyIAMAuthRequired = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof rds.CfnDBProxy)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    const endToEndIam = NagRules.resolveIfPrimitive(node, node.defaultAuthScheme) === 'IAM_AUTH';
    const auth: unknown = Stack.of(node).resolve(node.auth) ?? [];
    if (!Array.isArray(auth)) {
      throw new Error(`Auth resolved to ${JSON.stringify(auth)}, not a list of entries, so IAM authentication could not be checked.`);
    }
    const everyEntryRequiresIam = auth.every(entry => NagRules.resolveIfPrimitive(node, (entry as rds.CfnDBProxy.AuthFormatProperty).iamAuth) === 'REQUIRED');
    return everyEntryRequiresIam && (endToEndIam || auth.length > 0) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
