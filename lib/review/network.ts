import { code, tableOrNone, text } from './markdown';
import { asList, compare, isObject, StackTemplate } from './template';

export interface SecurityGroupRule {
  readonly direction: 'ingress' | 'egress';
  readonly source: string;
  readonly destination: string;
  readonly protocol: string;
  readonly ports: string;
  readonly description: string;
}

/** aws-cdk-lib's stand-in rule for "no egress at all": ICMP type 252 code 86 to a host that cannot exist. */
const CDK_NO_EGRESS_CIDR = '255.255.255.255/32';

/** Every security group rule of the stack: standalone ingress and egress resources and the rules inline on groups. */
export function securityGroupRules(template: StackTemplate): SecurityGroupRule[] {
  const rules: SecurityGroupRule[] = [];
  for (const id of template.idsOfType('AWS::EC2::SecurityGroupIngress')) {
    const rule = template.properties(id);
    rules.push(describeRule(template, 'ingress', rule, peer(template, rule.GroupId ?? rule.GroupName)));
  }
  for (const id of template.idsOfType('AWS::EC2::SecurityGroupEgress')) {
    const rule = template.properties(id);
    rules.push(describeRule(template, 'egress', rule, peer(template, rule.GroupId)));
  }
  for (const id of template.idsOfType('AWS::EC2::SecurityGroup')) {
    const properties = template.properties(id);
    const group = template.pathOf(id);
    rules.push(...asList(properties.SecurityGroupIngress).filter(isObject).map(rule => describeRule(template, 'ingress', rule, group)));
    rules.push(...asList(properties.SecurityGroupEgress).filter(isObject).map(rule => describeRule(template, 'egress', rule, group)));
  }
  return rules.sort((a, b) => compare(a.destination, b.destination) || compare(a.source, b.source) || compare(a.ports, b.ports)
    || compare(a.direction, b.direction) || compare(a.description, b.description));
}

function describeRule(template: StackTemplate, direction: 'ingress' | 'egress', rule: Record<string, unknown>, group: string): SecurityGroupRule {
  const other = direction === 'ingress'
    ? rule.SourceSecurityGroupId ?? rule.SourceSecurityGroupName ?? rule.CidrIp ?? rule.CidrIpv6 ?? rule.SourcePrefixListId
    : rule.DestinationSecurityGroupId ?? rule.CidrIp ?? rule.CidrIpv6 ?? rule.DestinationPrefixListId;
  const otherPeer = other === undefined ? '—' : peer(template, other);
  return {
    direction,
    source: direction === 'ingress' ? otherPeer : group,
    destination: direction === 'ingress' ? group : otherPeer,
    protocol: protocolName(String(rule.IpProtocol)),
    ports: portsOf(template, rule),
    description: rule.Description === undefined ? '' : template.render(rule.Description),
  };
}

/** A security group by construct path; a CIDR or prefix list as written. */
function peer(template: StackTemplate, value: unknown): string {
  const group = template.referencedResource(value);
  return group !== undefined && template.resource(group).Type === 'AWS::EC2::SecurityGroup' ? template.pathOf(group) : template.render(value);
}

function protocolName(protocol: string): string {
  return ({ '-1': 'all', '6': 'tcp', '17': 'udp', '1': 'icmp' } as Record<string, string>)[protocol] ?? protocol;
}

/** Ports as numbers, or as the value they reference (a database's port is often `Fn::GetAtt` of its endpoint). */
function portsOf(template: StackTemplate, rule: Record<string, unknown>): string {
  const protocol = protocolName(String(rule.IpProtocol));
  const port = (value: unknown): unknown => (typeof value === 'object' && value !== null ? template.render(value) : value);
  const from = port(rule.FromPort);
  const to = port(rule.ToPort);
  if (protocol === 'all') {
    return 'all';
  }
  if (protocol === 'icmp') {
    return `type ${from === -1 ? 'any' : String(from)}, code ${to === -1 ? 'any' : String(to)}`;
  }
  if (from === undefined || from === -1 || (from === 0 && to === 65535)) {
    return 'all';
  }
  return from === to || to === undefined ? String(from) : `${String(from)}-${String(to)}`;
}

/**
 * What a security group may send. EC2 gives a new group an allow-all egress
 * rule; CloudFormation removes it when the group lists egress rules or when a
 * standalone SecurityGroupEgress is added to it (aws-cdk #987, #998).
 */
export function egressPolicy(template: StackTemplate, id: string): string {
  const egress = asList(template.properties(id).SecurityGroupEgress).filter(isObject);
  const standalone = template.idsOfType('AWS::EC2::SecurityGroupEgress').filter(rule => template.referencedResource(template.properties(rule).GroupId) === id);
  if (!egress.length && !standalone.length) {
    return 'all traffic to anywhere (EC2\'s default rule: the group has no egress rule)';
  }
  if (!standalone.length && egress.every(rule => rule.CidrIp === CDK_NO_EGRESS_CIDR)) {
    return 'none (aws-cdk-lib\'s disallow-all marker rule)';
  }
  return 'only its egress rules below';
}

export interface VpcEndpoint {
  readonly path: string;
  readonly service: string;
  readonly type: string;
  readonly subnets: number;
}

export function vpcEndpoints(template: StackTemplate): VpcEndpoint[] {
  return template.idsOfType('AWS::EC2::VPCEndpoint').map(id => {
    const properties = template.properties(id);
    return {
      path: template.pathOf(id),
      service: template.render(properties.ServiceName),
      type: String(properties.VpcEndpointType ?? 'Gateway'),
      subnets: asList(properties.SubnetIds).length,
    };
  });
}

export function natGatewayCount(template: StackTemplate): number {
  return template.idsOfType('AWS::EC2::NatGateway').length;
}

export function renderNetwork(template: StackTemplate): string {
  const groups = template.idsOfType('AWS::EC2::SecurityGroup').map(id => [
    code(template.pathOf(id)), text(template.render(template.properties(id).GroupDescription ?? '')), text(egressPolicy(template, id)),
  ]);
  const rules = securityGroupRules(template).map(rule => [
    code(rule.source), code(rule.destination), text(rule.direction), text(rule.protocol), text(rule.ports), text(rule.description),
  ]);
  const endpoints = vpcEndpoints(template).map(endpoint => [code(endpoint.path), code(endpoint.service), text(endpoint.type), text(String(endpoint.subnets))]);
  return [
    '### Security groups',
    tableOrNone(['Security group', 'Description', 'Egress'], groups, 'No security groups.'),
    '### Rules',
    tableOrNone(['Source', 'Destination', 'Direction', 'Protocol', 'Ports', 'Description'], rules, 'No security group rules.'),
    '### VPC endpoints and NAT gateways',
    tableOrNone(['Endpoint', 'Service', 'Type', 'Subnets'], endpoints, 'No VPC endpoints.'),
    `NAT gateways: ${natGatewayCount(template)}.`,
  ].join('\n\n');
}
