/**
 * What CloudFormation does to a function's concurrency when a stack update
 * changes parameters: which resources it creates, updates and deletes, in
 * which orders it may do so, and whether Lambda accepts every step.
 *
 * CloudFormation's rules, as the AWS docs describe them: a resource is
 * created or updated only after every resource it depends on (DependsOn,
 * Ref, Fn::GetAtt, Fn::Sub, evaluated after conditions); independent
 * resources may go in any order or in parallel; resources whose condition
 * turns false are deleted in the cleanup phase, after every create and
 * update, dependents first. Lambda's rules: a reservation may not be below
 * the provisioned concurrency of the function's versions and aliases, and
 * provisioned concurrency may not exceed the reservation.
 */

type Json = any;

export interface Template {
  readonly Resources: { [id: string]: { Type: string; Properties?: Json; DependsOn?: string | string[]; Condition?: string } };
  readonly Conditions?: { [id: string]: Json };
  readonly Parameters?: { [id: string]: { Default?: string } };
}

export type Parameters = { [name: string]: string };

export interface Step {
  readonly action: 'create' | 'update' | 'delete';
  readonly id: string;
}

/** The template as CloudFormation deploys it with these parameter values: conditions applied, Fn::If resolved. */
export function evaluate(template: Template, parameters: Parameters): { [id: string]: { Type: string; Properties: Json; DependsOn: string[] } } {
  const value = (name: string) => parameters[name] ?? template.Parameters?.[name]?.Default;
  const condition = (name: string): boolean => truth(template.Conditions![name]);
  const truth = (expression: Json): boolean => {
    if (expression['Fn::Equals']) {
      const [a, b] = expression['Fn::Equals'].map(resolve);
      return a === b;
    }
    if (expression['Fn::Not']) return !truth(expression['Fn::Not'][0]);
    if (expression.Condition) return condition(expression.Condition);
    throw new Error(`condition not supported here: ${JSON.stringify(expression)}`);
  };
  const resolve = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(resolve).filter(item => item !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    if (node['Fn::If']) {
      const [name, whenTrue, whenFalse] = node['Fn::If'];
      return resolve(condition(name) ? whenTrue : whenFalse);
    }
    if (node.Ref === 'AWS::NoValue') return NO_VALUE;
    if (typeof node.Ref === 'string' && value(node.Ref) !== undefined) return value(node.Ref);
    return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, resolve(item)]).filter(([, item]) => item !== NO_VALUE));
  };
  return Object.fromEntries(Object.entries(template.Resources)
    .filter(([, resource]) => !resource.Condition || condition(resource.Condition))
    .map(([id, resource]) => [id, { Type: resource.Type, Properties: resolve(resource.Properties ?? {}), DependsOn: [resource.DependsOn ?? []].flat() }]));
}

const NO_VALUE = Symbol('AWS::NoValue');

/** The resources each resource of an evaluated template waits for. */
export function dependencies(resources: ReturnType<typeof evaluate>): Map<string, Set<string>> {
  const found = (node: Json, into: Set<string>): void => {
    if (Array.isArray(node)) {
      node.forEach(item => found(item, into));
    } else if (node !== null && typeof node === 'object') {
      if (typeof node.Ref === 'string') into.add(node.Ref);
      if (Array.isArray(node['Fn::GetAtt'])) into.add(node['Fn::GetAtt'][0]);
      if (node['Fn::Sub'] !== undefined) {
        const text = Array.isArray(node['Fn::Sub']) ? node['Fn::Sub'][0] : node['Fn::Sub'];
        for (const match of String(text).matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}/g)) into.add(match[1]);
      }
      Object.values(node).forEach(item => found(item, into));
    }
  };
  return new Map(Object.entries(resources).map(([id, resource]) => {
    const into = new Set<string>(resource.DependsOn);
    found(resource.Properties, into);
    return [id, new Set([...into].filter(other => other in resources))];
  }));
}

/** Whether `id` waits for `other`, directly or through other resources. */
export function waitsFor(graph: Map<string, Set<string>>, id: string, other: string, seen = new Set<string>()): boolean {
  for (const direct of graph.get(id) ?? []) {
    if (direct === other || (!seen.has(direct) && (seen.add(direct), waitsFor(graph, direct, other, seen)))) {
      return true;
    }
  }
  return false;
}

/** What an update from `before` to `after` does to each resource. */
export function steps(template: Template, before: Parameters, after: Parameters): Step[] {
  const old = evaluate(template, before);
  const next = evaluate(template, after);
  return [
    ...Object.keys(next).filter(id => !(id in old)).map(id => ({ action: 'create' as const, id })),
    ...Object.keys(next).filter(id => id in old && JSON.stringify(old[id].Properties) !== JSON.stringify(next[id].Properties)).map(id => ({ action: 'update' as const, id })),
    ...Object.keys(old).filter(id => !(id in next)).map(id => ({ action: 'delete' as const, id })),
  ];
}

/**
 * Every order in which CloudFormation may carry out `changes`: creates and
 * updates after what they wait for in the new template, then deletes, each
 * before what it waited for in the old one.
 */
export function orders(template: Template, before: Parameters, after: Parameters, changes: Step[]): Step[][] {
  const next = dependencies(evaluate(template, after));
  const old = dependencies(evaluate(template, before));
  const mustPrecede = (a: Step, b: Step): boolean => {
    if (a.action !== 'delete' && b.action !== 'delete') return waitsFor(next, b.id, a.id);
    if (a.action !== 'delete') return true;
    if (b.action !== 'delete') return false;
    return waitsFor(old, a.id, b.id);
  };
  const results: Step[][] = [];
  const extend = (done: Step[], left: Step[]): void => {
    if (left.length === 0) {
      results.push(done);
      return;
    }
    for (const candidate of left.filter(step => !left.some(other => other !== step && mustPrecede(other, step)))) {
      extend([...done, candidate], left.filter(step => step !== candidate));
    }
  };
  extend([], changes);
  return results;
}

/** A function's concurrency as Lambda holds it. */
export interface Concurrency {
  reserved?: number;
  provisioned: number;
}

/** What each step asks of Lambda, in order: set the reservation (undefined removes it) or the provisioned concurrency. */
export type Request = { reserve: number | undefined } | { provision: number };

/**
 * Replay one order of steps against Lambda's rules, starting from `state`;
 * `requests` says what a step asks of Lambda. Returns the refusals.
 */
export function replay(order: Step[], state: Concurrency, requests: (step: Step) => Request[]): string[] {
  const refusals: string[] = [];
  const current = { ...state };
  for (const step of order) {
    for (const request of requests(step)) {
      if ('reserve' in request) {
        if (request.reserve !== undefined && request.reserve < current.provisioned) {
          refusals.push(`${step.action} ${step.id}: reservation ${request.reserve} below provisioned concurrency ${current.provisioned}`);
          continue;
        }
        current.reserved = request.reserve;
      } else {
        if (current.reserved !== undefined && request.provision > current.reserved) {
          refusals.push(`${step.action} ${step.id}: provisioned concurrency ${request.provision} above reservation ${current.reserved}`);
          continue;
        }
        current.provisioned = request.provision;
      }
    }
  }
  return refusals;
}
