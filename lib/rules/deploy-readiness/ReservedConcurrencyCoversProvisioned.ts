import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NagRuleCompliance } from 'cdk-nag';
import { logicalIdOf, referencedLogicalId, referencesIn, resourcesInTemplateOf } from '../../private/template';

/** A number the template can deploy, and the conditions (as "Name=true") that choose it. */
interface Possible {
  readonly value: number;
  readonly conditions: string[];
}

/** The highest provisioned concurrency a resource of the template can set, and where. */
interface Provisioned {
  readonly value: number;
  readonly source: string;
}

/**
 * Each reservation the function's template can deploy below the provisioned
 * concurrency its aliases and versions can hold, as a sentence. Empty for
 * other resources, for functions without a literal reservation and for
 * functions without provisioned concurrency.
 * @param node the CfnResource to check
 */
export function reservationsBelowProvisioned(node: CfnResource): string[] {
  if (!(node instanceof lambda.CfnFunction)) {
    return [];
  }
  const highest = provisionedConcurrencyOf(node).sort((a, b) => b.value - a.value)[0];
  if (!highest) {
    return [];
  }
  return possibleNumbers(Stack.of(node).resolve(node.reservedConcurrentExecutions), [])
    .filter(reserved => reserved.value < highest.value)
    .map(reserved => `reserved concurrency ${reserved.value}${reserved.conditions.length ? ` (when ${reserved.conditions.join(' and ')})` : ''} `
      + `is below the provisioned concurrency of ${highest.value} that ${highest.source} can hold`);
}

/**
 * The numbers a resolved template value can take: a literal, or each branch
 * of an `Fn::If` with its condition. `AWS::NoValue` and other intrinsics
 * (parameters, references) are not numbers known at synth.
 */
function possibleNumbers(value: unknown, conditions: string[]): Possible[] {
  if (typeof value === 'number') {
    return [{ value, conditions }];
  }
  const fnIf = (value as { 'Fn::If'?: unknown[] } | undefined)?.['Fn::If'];
  if (Array.isArray(fnIf) && typeof fnIf[0] === 'string') {
    return [
      ...possibleNumbers(fnIf[1], [...conditions, `${fnIf[0]}=true`]),
      ...possibleNumbers(fnIf[2], [...conditions, `${fnIf[0]}=false`]),
    ];
  }
  return [];
}

/** Every number under the given property names anywhere in a resolved value (any case, any branch of a condition). */
function numbersUnder(value: unknown, names: RegExp): number[] {
  if (Array.isArray(value)) {
    return value.flatMap(item => numbersUnder(item, names));
  }
  if (value === null || typeof value !== 'object') {
    return [];
  }
  return Object.entries(value).flatMap(([key, item]) => (names.test(key)
    ? [...possibleNumbers(item, []).map(possible => possible.value), ...numbersUnder(item, names)]
    : numbersUnder(item, names)));
}

/**
 * The provisioned concurrency the function's aliases and versions can hold:
 * their `ProvisionedConcurrencyConfig`, and the capacities (minimum, maximum
 * and those of scheduled actions) of the Application Auto Scaling targets
 * on the function or its aliases.
 */
function provisionedConcurrencyOf(fn: lambda.CfnFunction): Provisioned[] {
  const stack = Stack.of(fn);
  const functionId = logicalIdOf(fn);
  const qualifiers = [
    ...resourcesInTemplateOf(fn, lambda.CfnAlias.isCfnAlias),
    ...resourcesInTemplateOf(fn, lambda.CfnVersion.isCfnVersion),
  ].filter(qualifier => referencedLogicalId(qualifier, qualifier.functionName) === functionId);
  const configured = qualifiers.flatMap(qualifier => numbersUnder(stack.resolve(qualifier.provisionedConcurrencyConfig), /^provisionedConcurrentExecutions$/i)
    .map(value => ({ value, source: qualifier.node.path })));
  const scaledIds = new Set([functionId, ...qualifiers.map(logicalIdOf)]);
  const scaled = resourcesInTemplateOf(fn, appscaling.CfnScalableTarget.isCfnScalableTarget)
    .filter(target => stack.resolve(target.serviceNamespace) === 'lambda'
      && referencesIn(stack.resolve(target.resourceId)).some(reference => scaledIds.has(reference.logicalId)))
    .flatMap(target => numbersUnder(stack.resolve({ min: target.minCapacity, max: target.maxCapacity, scheduled: target.scheduledActions }), /^(min|max|minCapacity|maxCapacity)$/i)
      .map(value => ({ value, source: `the scaling of ${target.node.path}` })));
  return [...configured, ...scaled];
}

/**
 * A Lambda function's reserved concurrency, in every value its template can
 * deploy (each branch of an `Fn::If`), is at least the provisioned
 * concurrency its aliases and versions can hold: their
 * `ProvisionedConcurrencyConfig` and the capacities of Application Auto
 * Scaling targets on them, scheduled actions included.
 * @param node the CfnResource to check
 */
export const ReservedConcurrencyCoversProvisioned = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof lambda.CfnFunction)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return reservationsBelowProvisioned(node).length > 0 ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
