import { Annotations, Aspects, CfnCondition, CfnOutput, CfnParameter, CustomResource, Token } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { ACCOUNT_CONCURRENCY_CONTEXT, accountConcurrencyLimit, reservableConcurrency } from '../../private/concurrency';
import { createLibraryCustomResource } from '../../private/custom-resource';
import { HOURS_PER_MONTH, PRICE_REGION, PROVISIONED_CONCURRENCY_GB_SECOND } from '../../private/prices';
import { PropValidationError, requireProps, validateNumber } from '../../private/validation';
import { ProvisionedConcurrencyOptions, ProvisionedConcurrencySchedule, UtilizationStatistic } from '../provisioned-concurrency';

/** Warning id for a reservation that provisioned concurrency can use up entirely. */
export const NO_ON_DEMAND_HEADROOM_WARNING = 'cdk-serverless-rds:NoOnDemandHeadroom';

const DEFAULT_ALIAS_NAME = 'live';
const DEFAULT_UTILIZATION_TARGET = 0.7;

/** Alias names Lambda accepts: letters, digits, hyphens and underscores, not only digits (a version number). */
const ALIAS_NAME = /^(?![0-9]+$)[A-Za-z0-9_-]{1,128}$/;
/** Application Auto Scaling rejects control characters, ':', '/', '|' and surrounding spaces in action names. */
const SCHEDULED_ACTION_NAME = /^(?! )(?!.* $)[^\u0000-\u001f\u007f-\u009f:/|]{1,256}$/;
const PROP = 'provisionedConcurrency';

/** The function's kill switch: a stack parameter and the condition that is true while it is off. */
export interface KillSwitch {
  readonly parameter: CfnParameter;
  readonly functionOn: CfnCondition;
}

export interface ProvisionedConcurrencyContext {
  /** Memory of the function in MB; may be a token. */
  readonly memorySize: number;
  readonly architecture: lambda.Architecture;
  /** Resolves the function's reserved concurrency at synth (explicit or derived); undefined when there is none or it is a token. */
  readonly reservedConcurrency: () => number | undefined;
  /** The reservation to apply while the kill switch is off (explicit, a token, or a lazily derived value); undefined for none. */
  readonly configuredReservation?: number;
  /**
   * When given, it turns the function off: reservation 0, and neither the
   * alias's provisioned concurrency nor any scaling resource.
   */
  readonly killSwitch?: KillSwitch;
  readonly logRetention: logs.RetentionDays;
  readonly logEncryptionKey: kms.IKey;
}

export interface ProvisionedConcurrencyResources {
  readonly alias: lambda.Alias;
  /** The scalable target, when auto scaling (target tracking or schedules) is configured. */
  readonly scalableTarget?: appscaling.ScalableTarget;
  /** The custom resource that sets the reservation and the alias's provisioned concurrency. */
  readonly concurrency: CustomResource;
  /** USD per month for minCapacity kept all month; undefined when memory or minCapacity is a token. */
  readonly monthlyCostUsd?: number;
}

/**
 * Point an alias at the function's current version (published only when its
 * code or configuration changes) with provisioned concurrency, optional
 * target tracking and scheduled scaling, and a monthly cost estimate in the
 * stack outputs. Everything is created under `scope`, whose path the error
 * messages name.
 *
 * The function's reservation and the alias's provisioned concurrency are set
 * by one custom resource, after the alias and before any scaling resource:
 * Lambda refuses a reservation below the provisioned concurrency and the
 * reverse, and only a handler can release one before lowering the other
 * (kill switch on) and restore one before requesting the other (off). The
 * function's and the alias's own properties leave both unset.
 */
export function addProvisionedConcurrency(
  scope: Construct, fn: lambda.Function, options: ProvisionedConcurrencyOptions, context: ProvisionedConcurrencyContext,
): ProvisionedConcurrencyResources {
  validateOptions(scope, options);
  const condition = context.killSwitch?.functionOn;
  const alias = new lambda.Alias(scope, 'Alias', {
    aliasName: options.aliasName ?? DEFAULT_ALIAS_NAME,
    version: fn.currentVersion,
  });
  const concurrency = addConcurrencyResource(scope, fn, alias, options, context);

  const scalableTarget = addAutoScaling(alias, options);
  if (scalableTarget) {
    // Registering the target moves the allocation into its range: only after the reservation allows it.
    scalableTarget.node.addDependency(concurrency);
  }
  if (scalableTarget && condition) {
    (scalableTarget.node.defaultChild as appscaling.CfnScalableTarget).cfnOptions.condition = condition;
    for (const policy of scalableTarget.node.findAll().filter(c => c instanceof appscaling.CfnScalingPolicy)) {
      policy.cfnOptions.condition = condition;
    }
  }

  fn.node.addValidation({ validate: () => validateReservation(options, context) });
  Aspects.of(scope).add({ visit: node => node === scope && warnOnNoHeadroom(scope, options, context) });

  const monthlyCostUsd = monthlyCost(options.minCapacity, context);
  if (monthlyCostUsd !== undefined) {
    new CfnOutput(scope, 'ProvisionedConcurrencyMonthlyCost', {
      value: monthlyCostUsd.toFixed(2),
      description: `Estimated USD per month for ${options.minCapacity} provisioned environment(s) of ${context.memorySize} MB (${context.architecture.name}) `
        + `kept warm ${HOURS_PER_MONTH} hours at $${PROVISIONED_CONCURRENCY_GB_SECOND[context.architecture.name].usd} per GB-second, the ${PRICE_REGION} price; `
        + 'requests, invocation duration and capacity above minCapacity are billed on top',
      condition,
    });
  }
  return { alias, scalableTarget, concurrency, monthlyCostUsd };
}

/**
 * The custom resource that owns the function's reservation and the alias's
 * provisioned concurrency (lambda/function-concurrency), answered by the
 * stack's custom resource function, which it allows exactly those settings
 * of this function and alias. It depends on the
 * alias and its version, so it runs again after every new version: it waits
 * for the allocation to follow, and re-applies the stop while the kill
 * switch is on.
 */
function addConcurrencyResource(
  scope: Construct, fn: lambda.Function, alias: lambda.Alias, options: ProvisionedConcurrencyOptions, context: ProvisionedConcurrencyContext,
): CustomResource {
  const resource = createLibraryCustomResource(scope, 'ConcurrencySettings', {
    resourceType: 'Custom::FunctionConcurrency',
    properties: {
      FunctionName: fn.functionName,
      Qualifier: alias.aliasName,
      FunctionVersion: fn.currentVersion.version,
      ProvisionedConcurrentExecutions: options.minCapacity,
      ReservedConcurrentExecutions: context.configuredReservation,
      KillSwitch: context.killSwitch?.parameter.valueAsString ?? 'off',
    },
    permissions: [
      new iam.PolicyStatement({
        actions: ['lambda:GetFunctionConcurrency', 'lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency'],
        resources: [fn.functionArn],
      }),
      new iam.PolicyStatement({
        actions: ['lambda:GetProvisionedConcurrencyConfig', 'lambda:PutProvisionedConcurrencyConfig', 'lambda:DeleteProvisionedConcurrencyConfig'],
        resources: [alias.functionArn],
      }),
    ],
    logRetention: context.logRetention,
    logEncryptionKey: context.logEncryptionKey,
  });
  // The alias resource alone: its scaling resources, below it in the tree, come after this one.
  resource.node.addDependency(alias.node.defaultChild as lambda.CfnAlias);
  return resource;
}

/** Target tracking runs when the range is wider than the minimum, or may be (tokens). */
function tracksUtilization(options: ProvisionedConcurrencyOptions): boolean {
  const { minCapacity, maxCapacity } = options;
  return maxCapacity !== undefined && (Token.isUnresolved(minCapacity) || Token.isUnresolved(maxCapacity) || maxCapacity > minCapacity);
}

function addAutoScaling(alias: lambda.Alias, options: ProvisionedConcurrencyOptions): appscaling.ScalableTarget | undefined {
  const schedules = options.schedules ?? [];
  const tracking = tracksUtilization(options);
  if (!tracking && schedules.length === 0) {
    return undefined;
  }
  const scaling = alias.addAutoScaling({ minCapacity: options.minCapacity, maxCapacity: options.maxCapacity ?? options.minCapacity });
  // addAutoScaling hides its ScalableTarget, which a customized metric needs; 'Target' is its construct id, fixed for logical-id stability.
  const target = scaling.node.findChild('Target') as appscaling.ScalableTarget;
  const utilizationTarget = options.utilizationTarget ?? DEFAULT_UTILIZATION_TARGET;
  if (tracking && options.utilizationStatistic === UtilizationStatistic.MAXIMUM) {
    // aws-cdk tracks only the predefined metric, an average (aws-cdk #23088); same policy id as scaleOnUtilization.
    target.scaleToTrackMetric('Tracking', {
      targetValue: utilizationTarget,
      customMetric: alias.metric('ProvisionedConcurrencyUtilization', { statistic: UtilizationStatistic.MAXIMUM }),
    });
  } else if (tracking) {
    scaling.scaleOnUtilization({ utilizationTarget });
  }
  for (const schedule of schedules) {
    scaling.scaleOnSchedule(schedule.name, {
      schedule: schedule.schedule,
      minCapacity: schedule.minCapacity,
      maxCapacity: schedule.maxCapacity,
      startTime: schedule.startTime,
      endTime: schedule.endTime,
      timeZone: schedule.timeZone,
    });
  }
  return target;
}

function validateOptions(scope: Construct, options: ProvisionedConcurrencyOptions): void {
  requireProps(scope, options, { minCapacity: 'the provisioned environments kept warm, at least 1' }, PROP);
  const limit = accountConcurrencyLimit(scope);
  const reservable = limit === undefined ? undefined : reservableConcurrency(limit);
  if (reservable === 0) {
    throw new PropValidationError(scope,
      `${PROP} needs concurrency that the account can set aside, but its limit in context ${ACCOUNT_CONCURRENCY_CONTEXT} (${limit}) leaves none: `
      + `Lambda keeps 100 unreserved (all of a limit of 100 or less); raise the account's limit (Service Quotas) and the context with it, or remove ${PROP}`);
  }
  const { aliasName, minCapacity, maxCapacity } = options;
  if (aliasName !== undefined && !Token.isUnresolved(aliasName) && !ALIAS_NAME.test(aliasName)) {
    throw new PropValidationError(scope,
      `${PROP}.aliasName ('${aliasName}') is not a valid Lambda alias name: use 1 to 128 letters, digits, hyphens or underscores, not only digits (e.g. '${DEFAULT_ALIAS_NAME}')`);
  }
  validateNumber(scope, { prop: `${PROP}.minCapacity`, value: minCapacity, min: 1, max: reservable, integer: true });
  validateNumber(scope, { prop: `${PROP}.maxCapacity`, value: maxCapacity, min: 1, max: reservable, integer: true });
  if (maxCapacity !== undefined && resolved(minCapacity) && resolved(maxCapacity) && maxCapacity < minCapacity) {
    throw new PropValidationError(scope,
      `${PROP}.maxCapacity (${maxCapacity}) is below ${PROP}.minCapacity (${minCapacity}): raise maxCapacity to at least ${minCapacity} or lower minCapacity`);
  }
  validateNumber(scope, { prop: `${PROP}.utilizationTarget`, value: options.utilizationTarget, min: 0.1, max: 0.9 });
  const trackingSetting = options.utilizationTarget !== undefined ? 'utilizationTarget' : options.utilizationStatistic !== undefined ? 'utilizationStatistic' : undefined;
  if (trackingSetting && !tracksUtilization(options)) {
    throw new PropValidationError(scope,
      `${PROP}.${trackingSetting} has no effect: target tracking runs only when maxCapacity is above minCapacity (${minCapacity}); set ${PROP}.maxCapacity or remove ${trackingSetting}`);
  }
  const names = new Set<string>();
  (options.schedules ?? []).forEach((schedule, index) => {
    requireProps(scope, schedule, { name: 'the scheduled action\'s name', schedule: 'when it runs, an appscaling.Schedule' }, `${PROP}.schedules[${index}]`);
    validateSchedule(scope, schedule, options, reservable);
    if (names.has(schedule.name)) {
      throw new PropValidationError(scope, `${PROP}.schedules has two schedules named '${schedule.name}': give each schedule its own name`);
    }
    names.add(schedule.name);
  });
}

function validateSchedule(scope: Construct, schedule: ProvisionedConcurrencySchedule, options: ProvisionedConcurrencyOptions, reservable: number | undefined): void {
  const { name, minCapacity, maxCapacity } = schedule;
  const prop = `${PROP}.schedules['${name}']`;
  if (!SCHEDULED_ACTION_NAME.test(name)) {
    throw new PropValidationError(scope,
      `${PROP}.schedules name ('${name}') is not a valid scheduled action name: use 1 to 256 characters without ':', '/', '|', control characters or surrounding spaces (e.g. 'business-hours')`);
  }
  if (minCapacity === undefined && maxCapacity === undefined) {
    throw new PropValidationError(scope, `${prop} sets neither minCapacity nor maxCapacity, so it changes nothing: set at least one of them`);
  }
  validateNumber(scope, { prop: `${prop}.minCapacity`, value: minCapacity, min: 0, max: reservable, integer: true });
  validateNumber(scope, { prop: `${prop}.maxCapacity`, value: maxCapacity, min: 0, max: reservable, integer: true });
  if (resolved(minCapacity) && resolved(maxCapacity) && minCapacity > maxCapacity) {
    throw new PropValidationError(scope,
      `${prop}.minCapacity (${minCapacity}) is above its maxCapacity (${maxCapacity}): raise maxCapacity to at least ${minCapacity} or lower minCapacity`);
  }
  // A one-sided action must stay inside the range it leaves in place, or the range would be inverted.
  const baseMax = options.maxCapacity ?? options.minCapacity;
  if (maxCapacity === undefined && resolved(minCapacity) && resolved(baseMax) && minCapacity > baseMax) {
    throw new PropValidationError(scope,
      `${prop}.minCapacity (${minCapacity}) is above ${PROP}.maxCapacity (${baseMax}) and the schedule sets no maxCapacity: set ${prop}.maxCapacity to at least ${minCapacity}`);
  }
  if (minCapacity === undefined && resolved(maxCapacity) && resolved(options.minCapacity) && maxCapacity < options.minCapacity) {
    throw new PropValidationError(scope,
      `${prop}.maxCapacity (${maxCapacity}) is below ${PROP}.minCapacity (${options.minCapacity}) and the schedule sets no minCapacity: set ${prop}.minCapacity to at most ${maxCapacity}`);
  }
  validateActiveWindow(scope, prop, schedule);
}

/** The window in which a scheduled action is active must be made of real dates and not be empty. */
function validateActiveWindow(scope: Construct, prop: string, schedule: ProvisionedConcurrencySchedule): void {
  const { startTime, endTime } = schedule;
  for (const [field, time] of [['startTime', startTime], ['endTime', endTime]] as const) {
    if (time !== undefined && !(time instanceof Date && Number.isFinite(time.getTime()))) {
      throw new PropValidationError(scope, `${prop}.${field} (${String(time)}) is not a valid date: pass a Date, e.g. new Date('2030-01-01T00:00:00Z')`);
    }
  }
  if (startTime && endTime && endTime.getTime() <= startTime.getTime()) {
    throw new PropValidationError(scope,
      `${prop}.endTime (${endTime.toISOString()}) is not after its startTime (${startTime.toISOString()}), so the action would never be active: set endTime after startTime`);
  }
}

/** The highest provisioned concurrency the options can reach, and the prop that sets it; tokens are left out. */
function highestCapacity(options: ProvisionedConcurrencyOptions): { capacity: number; prop: string } | undefined {
  const candidates = [
    { capacity: options.minCapacity, prop: `${PROP}.minCapacity` },
    { capacity: options.maxCapacity, prop: `${PROP}.maxCapacity` },
    ...(options.schedules ?? []).flatMap(s => [
      { capacity: s.minCapacity, prop: `${PROP}.schedules['${s.name}'].minCapacity` },
      { capacity: s.maxCapacity, prop: `${PROP}.schedules['${s.name}'].maxCapacity` },
    ]),
  ].filter((c): c is { capacity: number; prop: string } => resolved(c.capacity));
  return candidates.reduce<{ capacity: number; prop: string } | undefined>((top, c) => (top && top.capacity >= c.capacity ? top : c), undefined);
}

/** Provisioned concurrency counts against the reservation; Lambda refuses more than it. */
function validateReservation(options: ProvisionedConcurrencyOptions, context: ProvisionedConcurrencyContext): string[] {
  const reserved = context.reservedConcurrency();
  const highest = highestCapacity(options);
  if (reserved === undefined || highest === undefined || highest.capacity <= reserved) {
    return [];
  }
  return [`${highest.prop} (${highest.capacity}) exceeds reservedConcurrentExecutions (${reserved}), which provisioned concurrency counts against: `
    + `raise reservedConcurrentExecutions to at least ${highest.capacity} or lower ${highest.prop}`];
}

function warnOnNoHeadroom(scope: IConstruct, options: ProvisionedConcurrencyOptions, context: ProvisionedConcurrencyContext): void {
  const reserved = context.reservedConcurrency();
  const highest = highestCapacity(options);
  if (reserved !== undefined && highest !== undefined && highest.capacity === reserved) {
    Annotations.of(scope).addWarningV2(NO_ON_DEMAND_HEADROOM_WARNING,
      `${highest.prop} (${highest.capacity}) equals reservedConcurrentExecutions (${reserved}): at that capacity no on-demand `
      + 'environment is left for bursts, which are throttled; raise reservedConcurrentExecutions above it if bursts must be served');
  }
}

function monthlyCost(minCapacity: number, context: ProvisionedConcurrencyContext): number | undefined {
  if (!resolved(minCapacity) || !resolved(context.memorySize)) {
    return undefined;
  }
  const gbSeconds = (context.memorySize / 1024) * minCapacity * HOURS_PER_MONTH * 3600;
  return Math.round(gbSeconds * PROVISIONED_CONCURRENCY_GB_SECOND[context.architecture.name].usd * 100) / 100;
}

function resolved(value: number | undefined): value is number {
  return value !== undefined && !Token.isUnresolved(value);
}
