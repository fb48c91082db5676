import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A `Ref` or `Fn::GetAtt` to a resource of the same template. */
export interface ResourceReference {
  readonly logicalId: string;
  /** The attribute of an `Fn::GetAtt`; undefined for a `Ref`. */
  readonly attribute?: string;
}

/** The resource's logical id as its template spells it (overrides included). */
export function logicalIdOf(resource: CfnResource): string {
  return Stack.of(resource).resolve(resource.logicalId);
}

/**
 * The resources of one kind in the same template as `node`. A nested stack's
 * resources are in a template of their own, so they are left out.
 */
export function resourcesInTemplateOf<T extends CfnResource>(node: CfnResource, isKind: (construct: IConstruct) => construct is T): T[] {
  const stack = Stack.of(node);
  return stack.node.findAll().filter((construct): construct is T => isKind(construct) && Stack.of(construct) === stack);
}

/** Every `Ref` and `Fn::GetAtt` anywhere inside a resolved template value. */
export function referencesIn(value: unknown): ResourceReference[] {
  if (Array.isArray(value)) {
    return value.flatMap(referencesIn);
  }
  if (value === null || typeof value !== 'object') {
    return [];
  }
  const record = value as Record<string, unknown>;
  if (typeof record.Ref === 'string') {
    return [{ logicalId: record.Ref }];
  }
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
    return [{ logicalId: getAtt[0], attribute: String(getAtt[1]) }];
  }
  return Object.values(record).flatMap(referencesIn);
}

/**
 * The logical id that a property value points at when it is exactly one
 * `Ref` or `Fn::GetAtt` (such as `{ Ref: 'Subnet1' }`); undefined for
 * literals (imported resources) and other intrinsics.
 */
export function referencedLogicalId(node: CfnResource, value: unknown): string | undefined {
  const resolved = Stack.of(node).resolve(value);
  if (resolved === null || typeof resolved !== 'object' || Array.isArray(resolved) || Object.keys(resolved).length !== 1) {
    return undefined;
  }
  const references = referencesIn(resolved);
  return references.length === 1 ? references[0].logicalId : undefined;
}

/**
 * The resource as its template renders it (every property, overrides
 * included), resolved: for properties an L1 class does not type, such as any
 * reference a resource makes to another.
 */
export function renderedResource(resource: CfnResource): { readonly Type?: string; readonly Properties?: Record<string, unknown> } {
  const rendered = resource._toCloudFormation() as { Resources?: Record<string, unknown> };
  return Stack.of(resource).resolve(Object.values(rendered.Resources ?? {})[0] ?? {});
}

/**
 * A resolved string value with the intrinsics inside an `Fn::Join` written as
 * `*` (`com.amazonaws.*.ssm`); undefined for anything else.
 */
export function flattenedString(value: unknown): string | undefined {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    return join[1].map(part => (typeof part === 'string' ? part : '*')).join(join[0]);
  }
  return typeof value === 'string' ? value : undefined;
}

/**
 * The resources of the same template that `node` waits for: its DependsOn
 * (including dependencies added between constructs, which become DependsOn
 * at synth) and the resources its properties reference.
 */
export function directDependencies(node: CfnResource): CfnResource[] {
  const stack = Stack.of(node);
  const fromConstructs: IConstruct[] = [];
  for (let scope: IConstruct | undefined = node; scope && scope !== stack; scope = scope.node.scope) {
    fromConstructs.push(...scope.node.dependencies);
  }
  const declared = fromConstructs.flatMap(dependency => dependency.node.findAll().filter(CfnResource.isCfnResource));
  const referencedIds = new Set(referencesIn(renderedResource(node).Properties).map(reference => reference.logicalId));
  const referenced = resourcesInTemplateOf(node, CfnResource.isCfnResource).filter(resource => referencedIds.has(logicalIdOf(resource)));
  return [...new Set([...node.obtainDependencies().filter(CfnResource.isCfnResource), ...declared, ...referenced])]
    .filter(resource => resource !== node && Stack.of(resource) === stack);
}

/** Whether `node` waits, directly or through other resources, for `target`. */
export function dependsOnTransitively(node: CfnResource, target: CfnResource): boolean {
  const seen = new Set<CfnResource>([node]);
  const queue = [node];
  while (queue.length > 0) {
    for (const dependency of directDependencies(queue.shift()!)) {
      if (dependency === target) return true;
      if (!seen.has(dependency)) {
        seen.add(dependency);
        queue.push(dependency);
      }
    }
  }
  return false;
}
