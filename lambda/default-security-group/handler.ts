/**
 * Custom resource handler (Custom::VpcRestrictDefaultSG, run by the stack's
 * custom resource function, see ../custom-resource/handler) that removes the
 * two rules EC2 gives a VPC's default security group (all traffic in from the
 * group itself, all traffic out), so that nothing placed in the VPC without a
 * security group of its own can talk to anything. The same job, and the same
 * resource type, as aws-cdk-lib's `restrictDefaultSecurityGroup`:
 *
 * - Create: revoke both rules (one already gone is fine);
 * - Update: nothing unless the group changed (the VPC was replaced); then the
 *   new group is closed and gets a new physical id, and CloudFormation's
 *   Delete of the old one puts its rules back;
 * - Delete: authorize both rules again, leaving the group as EC2 made it
 *   (rules already there, or a group already gone with its VPC, are fine, so
 *   a repeated Delete succeeds).
 *
 * ResourceProperties: { ServiceToken, DefaultSecurityGroupId, Account }.
 *
 * Runs outside the VPC: it only calls the EC2 API.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Ec2Api } from './ec2-api';
import type { CustomResourceHandler } from '../custom-resource/response';

export interface DefaultSecurityGroupOptions {
  readonly ec2: Ec2Api;
}

interface DefaultSecurityGroup {
  readonly groupId: string;
  /** The account that owns the group, which names it as the source of its ingress rule. */
  readonly account: string;
}

const PHYSICAL_ID_PREFIX = 'default-security-group';

export function createHandler(options: DefaultSecurityGroupOptions): CustomResourceHandler {
  const ec2 = options.ec2;

  /** Make a call; an error whose code is in `ignored` means the rule is already as wanted. */
  async function apply(call: Parameters<Ec2Api>, ignored: readonly string[]): Promise<void> {
    try {
      await ec2(...call);
    } catch (error) {
      if (!ignored.includes((error as Error).name)) {
        throw new Error(`${call[1].GroupId}: EC2 refused ${call[0]}: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }
  }

  async function close(group: DefaultSecurityGroup): Promise<void> {
    await apply(['RevokeSecurityGroupEgress', egressRule(group)], ['InvalidPermission.NotFound']);
    await apply(['RevokeSecurityGroupIngress', ingressRule(group)], ['InvalidPermission.NotFound']);
    log({ defaultSecurityGroup: group.groupId, rules: 'revoked' });
  }

  async function reopen(group: DefaultSecurityGroup): Promise<void> {
    await apply(['AuthorizeSecurityGroupIngress', ingressRule(group)], ['InvalidPermission.Duplicate', 'InvalidGroup.NotFound']);
    await apply(['AuthorizeSecurityGroupEgress', egressRule(group)], ['InvalidPermission.Duplicate', 'InvalidGroup.NotFound']);
    log({ defaultSecurityGroup: group.groupId, rules: 'authorized' });
  }

  return async (event: CloudFormationCustomResourceEvent) => {
    const group = propertiesOf(event.ResourceProperties);
    if (event.RequestType === 'Delete') {
      await reopen(group);
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    if (event.RequestType === 'Update' && propertiesOf(event.OldResourceProperties).groupId === group.groupId) {
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    await close(group);
    return { PhysicalResourceId: `${PHYSICAL_ID_PREFIX}:${group.groupId}` };
  };
}

/** All traffic out to anywhere: the egress rule of every new security group. */
function egressRule(group: DefaultSecurityGroup): Record<string, string> {
  return { 'GroupId': group.groupId, 'IpPermissions.1.IpProtocol': '-1', 'IpPermissions.1.IpRanges.1.CidrIp': '0.0.0.0/0' };
}

/** All traffic in from members of the group: the ingress rule of a default security group. */
function ingressRule(group: DefaultSecurityGroup): Record<string, string> {
  return {
    'GroupId': group.groupId,
    'IpPermissions.1.IpProtocol': '-1',
    'IpPermissions.1.Groups.1.GroupId': group.groupId,
    'IpPermissions.1.Groups.1.UserId': group.account,
  };
}

function propertiesOf(properties: Record<string, unknown>): DefaultSecurityGroup {
  const missing = ['DefaultSecurityGroupId', 'Account'].filter(key => typeof properties[key] !== 'string' || properties[key] === '');
  if (missing.length > 0) {
    throw new Error(`default security group: missing resource properties: ${missing.join(', ')}`);
  }
  return { groupId: properties.DefaultSecurityGroupId as string, account: properties.Account as string };
}

function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify({ handler: 'default-security-group', ...entry }));
}
