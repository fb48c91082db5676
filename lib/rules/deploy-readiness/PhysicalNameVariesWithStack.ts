import { parse } from 'path';
import { CfnResource } from 'aws-cdk-lib';
import { NagRuleCompliance } from 'cdk-nag';
import { nameFixedAcrossStacks, physicalNameOf } from '../private/physical-names';

/**
 * Resources with an explicit physical name (see `physicalNameOf` for the
 * types) name it after something that differs between two deployments of
 * the stack in one account and Region: a literal that contains the stack's
 * name, or an intrinsic that references AWS::StackName, AWS::StackId or
 * another resource of the template. Names CloudFormation generates pass.
 * @param node the CfnResource to check
 */
export const PhysicalNameVariesWithStack = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!physicalNameOf(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return nameFixedAcrossStacks(node) === undefined ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
