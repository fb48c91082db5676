import { code, lines, tableOrNone, text } from './markdown';
import { asList, compare, isObject, StackTemplate, unique } from './template';

/** Where one function puts its Hyperplane ENIs. */
export interface FunctionPlacement {
  readonly function: string;
  readonly subnets: readonly string[];
  /** Sorted: Lambda shares an ENI between functions with the same set, whatever the order. */
  readonly securityGroups: readonly string[];
}

/** One (subnet, security group set): one Hyperplane ENI, shared by every function listed. */
export interface EniCombination {
  readonly subnet: string;
  readonly securityGroups: readonly string[];
  readonly functions: readonly string[];
}

/** The Secrets Manager rotation application (AWS SAR) creates its function with the placement passed as comma-joined parameters. */
const SERVERLESS_APPLICATION = 'AWS::Serverless::Application';

export function functionPlacements(template: StackTemplate): FunctionPlacement[] {
  const placements: FunctionPlacement[] = [];
  for (const id of template.idsOfType('AWS::Lambda::Function')) {
    const vpc = template.resolveDefaults(template.properties(id).VpcConfig);
    if (isObject(vpc) && asList(vpc.SubnetIds).length) {
      placements.push(placement(template, id, asList(vpc.SubnetIds), asList(vpc.SecurityGroupIds)));
    }
  }
  for (const id of template.idsOfType(SERVERLESS_APPLICATION)) {
    const parameters = template.properties(id).Parameters;
    if (isObject(parameters) && parameters.vpcSubnetIds !== undefined) {
      placements.push(placement(template, id, commaList(parameters.vpcSubnetIds), commaList(parameters.vpcSecurityGroupIds)));
    }
  }
  return placements.sort((a, b) => compare(a.function, b.function));
}

function placement(template: StackTemplate, id: string, subnets: unknown[], securityGroups: unknown[]): FunctionPlacement {
  const name = (value: unknown): string => {
    const target = template.referencedResource(value);
    return target !== undefined ? template.pathOf(target) : template.render(value);
  };
  return { function: template.pathOf(id), subnets: unique(subnets.map(name)), securityGroups: unique(securityGroups.map(name)) };
}

/** A list given as one comma-joined string parameter: a literal, or `Fn::Join` with ','. */
function commaList(value: unknown): unknown[] {
  if (typeof value === 'string') {
    return value.split(',').filter(Boolean);
  }
  const join = isObject(value) ? value['Fn::Join'] : undefined;
  if (Array.isArray(join) && join[0] === '' && Array.isArray(join[1])) {
    return join[1].filter(part => part !== ',');
  }
  if (Array.isArray(join) && join[0] === ',' && Array.isArray(join[1])) {
    return join[1];
  }
  return value === undefined ? [] : [value];
}

export function eniCombinations(template: StackTemplate): EniCombination[] {
  const combinations = new Map<string, EniCombination>();
  for (const { function: fn, subnets, securityGroups } of functionPlacements(template)) {
    for (const subnet of subnets) {
      const key = JSON.stringify([subnet, securityGroups]);
      const existing = combinations.get(key);
      combinations.set(key, { subnet, securityGroups, functions: unique([...(existing?.functions ?? []), fn]) });
    }
  }
  return [...combinations.values()].sort((a, b) => compare(a.securityGroups.join(), b.securityGroups.join()) || compare(a.subnet, b.subnet));
}

export function renderEnis(template: StackTemplate): string {
  const placements = functionPlacements(template).map(p => [code(p.function), lines(p.subnets), lines(p.securityGroups), text(String(p.subnets.length))]);
  const combinations = eniCombinations(template).map(c => [code(c.subnet), lines(c.securityGroups), lines(c.functions)]);
  return [
    'Lambda creates one Hyperplane ENI per unique (subnet, security group set) and shares it between every function with that combination; '
      + 'each serves up to 65,000 connections and is created when a function is created or its VPC configuration changes, not at cold start '
      + '(FACTS.md, "Hyperplane ENI"). Giving every function its own security group multiplies ENIs. The default quota is 500 Hyperplane ENIs per VPC '
      + '(Lambda quotas: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).',
    '### Functions in the VPC',
    tableOrNone(['Function', 'Subnets', 'Security groups', 'ENI combinations used'], placements, 'No function is attached to a VPC.'),
    `### Combinations (${combinations.length} Hyperplane ENIs)`,
    tableOrNone(['Subnet', 'Security groups', 'Functions sharing it'], combinations, 'None.'),
  ].join('\n\n');
}
