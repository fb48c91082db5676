import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Acknowledge one rule of several cdk-nag packs with the same reason. */
export function acknowledgeInPacks(scope: IConstruct, packs: string[], rule: string, reason: string): void {
  for (const pack of packs) {
    Validations.of(scope).acknowledge({ id: `${pack}::${pack}-${rule}`, reason });
  }
}

/**
 * Acknowledge AwsSolutions-IAM5 for one wildcard resource of a role's
 * policies. The id spells the resource as the pack does (intrinsics
 * flattened, references as `<Name>`), which differs between an
 * environment-agnostic stack (`<AWS::Region>`) and one bound to a Region.
 */
export function acknowledgeWildcardResource(role: IConstruct, resource: string, reason: string): void {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node;
    const record = (node ?? {}) as Record<string, any>;
    if (Array.isArray(record['Fn::Join'])) return (record['Fn::Join'][1] as unknown[]).map(flatten).join(record['Fn::Join'][0]);
    if (typeof record.Ref === 'string') return `<${record.Ref}>`;
    if (Array.isArray(record['Fn::GetAtt'])) return `<${record['Fn::GetAtt'][0]}.${record['Fn::GetAtt'][1]}>`;
    return JSON.stringify(node);
  };
  Validations.of(role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flatten(Stack.of(role).resolve(resource))}]`, reason });
}
