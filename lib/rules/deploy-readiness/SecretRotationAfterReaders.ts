import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagRuleCompliance, NagRules } from 'cdk-nag';
import { dependsOnTransitively, logicalIdOf, referencesIn, renderedResource, resourcesInTemplateOf } from '../../private/template';

/**
 * The custom resources of the template that read the rotation schedule's
 * secret (their properties reference the secret or one of its
 * `SecretTargetAttachment`s) and may run while or after the secret rotates
 * for the first time: the schedule rotates immediately (RotateImmediatelyOnUpdate
 * is not false) and does not wait for them (no DependsOn or reference leads,
 * directly or through other resources, from the schedule to the reader).
 * Each as "path". Empty for other resources.
 * @param node the CfnResource to check
 */
export function readersRacingRotation(node: CfnResource): string[] {
  if (!(node instanceof secretsmanager.CfnRotationSchedule) || NagRules.resolveIfPrimitive(node, node.rotateImmediatelyOnUpdate) === false) {
    return [];
  }
  const secretIds = secretAndAttachments(node);
  return resourcesInTemplateOf(node, CfnResource.isCfnResource)
    .filter(resource => isCustomResource(resource)
      && referencesIn(renderedResource(resource).Properties).some(reference => secretIds.has(reference.logicalId))
      && !dependsOnTransitively(node, resource))
    .map(resource => resource.node.path);
}

/**
 * Rotation schedules of a secret that custom resources read (a bootstrap
 * setting the password it holds, a migration logging in with it) either turn
 * off immediate rotation (RotateImmediatelyOnUpdate false: the first
 * rotation comes one interval after the create) or wait for every such
 * reader (DependsOn or a reference, transitively). Otherwise the first
 * rotation can change the password while or before the reader uses the one
 * it read. Later scheduled rotations are not the template's to order.
 * @param node the CfnResource to check
 */
export const SecretRotationAfterReaders = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof secretsmanager.CfnRotationSchedule)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return readersRacingRotation(node).length > 0 ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);

/** The logical ids that stand for the schedule's secret: the secret and its attachments (aws-cdk-lib's `secret.attach()` returns the attachment). */
function secretAndAttachments(schedule: secretsmanager.CfnRotationSchedule): Set<string> {
  const stack = Stack.of(schedule);
  const ids = new Set(referencesIn(stack.resolve(schedule.secretId)).map(reference => reference.logicalId));
  const attachments = resourcesInTemplateOf(schedule, secretsmanager.CfnSecretTargetAttachment.isCfnSecretTargetAttachment);
  for (const attachment of attachments) {
    const attachedTo = referencesIn(stack.resolve(attachment.secretId)).map(reference => reference.logicalId);
    if (ids.has(logicalIdOf(attachment))) attachedTo.forEach(id => ids.add(id));
  }
  for (const attachment of attachments) {
    if (referencesIn(stack.resolve(attachment.secretId)).some(reference => ids.has(reference.logicalId))) ids.add(logicalIdOf(attachment));
  }
  return ids;
}

function isCustomResource(resource: CfnResource): boolean {
  return resource.cfnResourceType === 'AWS::CloudFormation::CustomResource' || resource.cfnResourceType.startsWith('Custom::');
}
