import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

const INLINE_POLICY_REASON = 'Inline policies are this library\'s least-privilege form by design: each grants one role exactly what it needs, '
  + 'is created and deleted with that role, and cannot be attached to any other principal. The customer-managed policies the rule asks for '
  + 'would add what this library avoids (a policy other roles can attach) and versions that the template already keeps; '
  + 'AWS managed policies would grant far more.';

/** Acknowledge the compliance packs' "no inline policy" rule for one role's policies. */
export function acknowledgeInlinePolicies(role: IConstruct): void {
  for (const pack of ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321']) {
    Validations.of(role).acknowledge({ id: `${pack}::${pack}-IAMNoInlinePolicy`, reason: INLINE_POLICY_REASON });
  }
}

/** Acknowledge one rule of several cdk-nag packs with the same reason. */
export function acknowledgeInPacks(scope: IConstruct, packs: string[], rule: string, reason: string): void {
  for (const pack of packs) {
    Validations.of(scope).acknowledge({ id: `${pack}::${pack}-${rule}`, reason });
  }
}
