import { CfnResource, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { asArray } from './policies';
import { logicalIdOf, referencedLogicalId, referencesIn, resourcesInTemplateOf } from './template';

/** One rule of a security group, resolved, from either side. */
export interface TrafficRule {
  readonly protocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  /** The CIDR of the other side (`CidrIp`), resolved. */
  readonly cidr?: unknown;
  /** The other side's security group (`SourceSecurityGroupId` or `DestinationSecurityGroupId`), resolved. */
  readonly securityGroup?: unknown;
  /** The other side's prefix list (`SourcePrefixListId` or `DestinationPrefixListId`), resolved. */
  readonly prefixList?: unknown;
}

const HTTPS = 443;

/**
 * The egress rules of a security group of the template: its
 * `SecurityGroupEgress` and the `AWS::EC2::SecurityGroupEgress` resources on
 * it. Undefined when it allows all egress: EC2 keeps its default allow-all
 * rule until the first rule of either kind replaces it.
 */
export function egressRules(group: ec2.CfnSecurityGroup): TrafficRule[] | undefined {
  const stack = Stack.of(group);
  const inline = asArray(stack.resolve(group.securityGroupEgress));
  const groupId = logicalIdOf(group);
  const standalone = resourcesInTemplateOf(group, ec2.CfnSecurityGroupEgress.isCfnSecurityGroupEgress)
    .filter(rule => referencedLogicalId(rule, rule.groupId) === groupId)
    .map(rule => stack.resolve({
      ipProtocol: rule.ipProtocol, fromPort: rule.fromPort, toPort: rule.toPort, cidrIp: rule.cidrIp,
      destinationSecurityGroupId: rule.destinationSecurityGroupId, destinationPrefixListId: rule.destinationPrefixListId,
    }));
  if (inline.length === 0 && standalone.length === 0) {
    return undefined;
  }
  return [...inline, ...standalone].map(rule => {
    const r = rule as Record<string, unknown>;
    return toRule(r.ipProtocol, r.fromPort, r.toPort, r.cidrIp, r.destinationSecurityGroupId, r.destinationPrefixListId);
  });
}

/** The ingress rules of a security group of the template: its `SecurityGroupIngress` and the `AWS::EC2::SecurityGroupIngress` resources on it. */
export function ingressRules(group: ec2.CfnSecurityGroup): TrafficRule[] {
  const stack = Stack.of(group);
  const groupId = logicalIdOf(group);
  const standalone = resourcesInTemplateOf(group, ec2.CfnSecurityGroupIngress.isCfnSecurityGroupIngress)
    .filter(rule => referencedLogicalId(rule, rule.groupId) === groupId)
    .map(rule => stack.resolve({
      ipProtocol: rule.ipProtocol, fromPort: rule.fromPort, toPort: rule.toPort, cidrIp: rule.cidrIp,
      sourceSecurityGroupId: rule.sourceSecurityGroupId, sourcePrefixListId: rule.sourcePrefixListId,
    }));
  return [...asArray(stack.resolve(group.securityGroupIngress)), ...standalone].map(rule => {
    const r = rule as Record<string, unknown>;
    return toRule(r.ipProtocol, r.fromPort, r.toPort, r.cidrIp, r.sourceSecurityGroupId, r.sourcePrefixListId);
  });
}

function toRule(protocol: unknown, fromPort: unknown, toPort: unknown, cidr: unknown, securityGroup: unknown, prefixList: unknown): TrafficRule {
  return {
    protocol: String(protocol).toLowerCase(),
    fromPort: typeof fromPort === 'number' ? fromPort : undefined,
    toPort: typeof toPort === 'number' ? toPort : undefined,
    cidr, securityGroup, prefixList,
  };
}

/** True when the rule lets TCP 443 through (all protocols, or TCP with 443 in its port range). */
export function allowsHttps(rule: TrafficRule): boolean {
  if (rule.protocol === '-1' || rule.protocol === 'all') {
    return true;
  }
  if (rule.protocol !== 'tcp' && rule.protocol !== '6') {
    return false;
  }
  return rule.fromPort !== undefined && rule.toPort !== undefined && rule.fromPort <= HTTPS && HTTPS <= rule.toPort;
}

/** True when the security group lets a function send HTTPS to any IPv4 address (what a NAT route needs). */
export function allowsHttpsToInternet(group: ec2.CfnSecurityGroup): boolean {
  const rules = egressRules(group);
  return rules === undefined || rules.some(rule => allowsHttps(rule) && rule.cidr === '0.0.0.0/0');
}

/** The security group of the template that a resolved id (`Fn::GetAtt` GroupId or `Ref`) points at. */
export function securityGroupOf(node: CfnResource, id: unknown): ec2.CfnSecurityGroup | undefined {
  const logicalId = referencesIn(id)[0]?.logicalId;
  return resourcesInTemplateOf(node, ec2.CfnSecurityGroup.isCfnSecurityGroup).find(group => logicalIdOf(group) === logicalId);
}
