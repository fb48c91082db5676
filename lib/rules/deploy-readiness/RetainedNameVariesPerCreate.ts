import { parse } from 'path';
import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance } from 'cdk-nag';
import { physicalNameOf, retainedUnderFixedName } from '../private/physical-names';

/**
 * Resources that outlive their stack (DeletionPolicy Retain,
 * RetainExceptOnCreate or Snapshot) and have an explicit physical name get a
 * name that is new on every create of the stack: one built from part of
 * AWS::StackId, or from a resource that is itself named anew on every create.
 * A name built from AWS::StackName alone is the same after `cdk destroy`, so
 * the retained resource blocks the next create with "already exists".
 * @param node the CfnResource to check
 */
export const RetainedNameVariesPerCreate = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!physicalNameOf(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return retainedUnderFixedName(node) === undefined ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
