/**
 * Custom resource handler (Custom::FunctionConcurrency, run by the stack's
 * custom resource function, see ../custom-resource/handler) that owns a
 * function's reserved concurrency and the provisioned concurrency of one of its aliases, and changes them in the only order
 * Lambda accepts. Lambda refuses a reservation below the provisioned
 * concurrency configured on the function's versions and aliases, and
 * provisioned concurrency above the reservation; CloudFormation would update
 * the function (its reservation) before the alias (its provisioned
 * concurrency), since the alias depends on the function. So:
 *
 * - kill switch on: release the alias's provisioned concurrency, then reserve 0;
 * - kill switch off: restore the reservation (or remove it), then request the
 *   provisioned concurrency when it changed, and wait until it is allocated.
 *
 * It runs after the alias and its version, so it also waits for the
 * allocation on every new version, and re-applies the stop after a deploy
 * while the switch is on.
 *
 * ResourceProperties: { ServiceToken, FunctionName, Qualifier, FunctionVersion,
 * ProvisionedConcurrentExecutions, ReservedConcurrentExecutions (absent for
 * none), KillSwitch ('on' | 'off') }; CloudFormation passes numbers as strings.
 *
 * Runs outside the VPC: it only calls the Lambda API.
 */
import { LambdaServiceException } from '@aws-sdk/client-lambda';
import { FunctionConcurrencyApi, ProvisionedConcurrencyConfig } from './lambda-api';
import { polling, PollingOptions } from '../custom-resource/polling';
import type { CustomResourceHandler } from '../custom-resource/response';

export interface FunctionConcurrencyProperties {
  readonly functionName: string;
  readonly qualifier: string;
  /** Provisioned concurrency of the qualifier while the kill switch is off. */
  readonly provisioned: number;
  /** The reservation while the kill switch is off; undefined for none. */
  readonly reserved?: number;
  /** The kill switch is on: reserve 0, provision nothing. */
  readonly stopped: boolean;
}

export interface FunctionConcurrencyOptions extends PollingOptions {
  readonly lambda: FunctionConcurrencyApi;
  /** @default 5 s */
  readonly pollIntervalMillis?: number;
  /**
   * How often a refused reservation is tried again: Lambda may still count
   * provisioned concurrency that is being released, or be busy updating the
   * function.
   * @default 12
   */
  readonly reserveAttempts?: number;
}

/**
 * Answers that mean "not now" rather than "never": provisioned concurrency
 * still being released, an update in progress, throttling. The client retries
 * throttling and service errors a few times within one call; a longer spell
 * of them is waited out here like the others.
 */
const RETRYABLE = new Set(['InvalidParameterValueException', 'ResourceConflictException', 'TooManyRequestsException', 'ServiceException']);

export function createHandler(options: FunctionConcurrencyOptions): CustomResourceHandler {
  const api = options.lambda;
  const { now, sleep, deadline: deadlineOf } = polling(options);
  const pollIntervalMillis = options.pollIntervalMillis ?? 5_000;
  const reserveAttempts = options.reserveAttempts ?? 12;

  /** Make a call, trying again while Lambda refuses it for a passing reason; `what` names the request in the error. */
  async function persist(props: FunctionConcurrencyProperties, what: string, deadline: number, call: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await call();
        return;
      } catch (error) {
        const reason = `${(error as Error).name}: ${(error as Error).message}`;
        if (!(error instanceof LambdaServiceException && RETRYABLE.has(error.name)) || attempt >= reserveAttempts || now() + pollIntervalMillis > deadline) {
          throw new Error(`${props.functionName}: Lambda refused ${what} after ${attempt} attempt(s): ${reason}`);
        }
        log({ function: props.functionName, retrying: what, attempt, error: reason });
        await sleep(pollIntervalMillis);
      }
    }
  }

  /** Set the reservation (undefined: none), after `beforeEachAttempt` has made room for it. */
  function reserve(props: FunctionConcurrencyProperties, value: number | undefined, deadline: number, beforeEachAttempt: () => Promise<void>): Promise<void> {
    return persist(props, value === undefined ? 'to remove the reservation' : `a reservation of ${value}`, deadline, async () => {
      await beforeEachAttempt();
      if (value !== undefined) {
        await api.putFunctionConcurrency(props.functionName, value);
      } else if (await api.getFunctionConcurrency(props.functionName) !== undefined) {
        await api.deleteFunctionConcurrency(props.functionName);
      }
    });
  }

  async function waitForAllocation(props: FunctionConcurrencyProperties, deadline: number): Promise<ProvisionedConcurrencyConfig | undefined> {
    const start = now();
    for (;;) {
      const config = await api.getProvisionedConcurrencyConfig(props.functionName, props.qualifier);
      // No configuration: scheduled scaling has taken it to 0, which is the scaling's to decide.
      if (config === undefined || config.status === 'READY') {
        return config;
      }
      if (config.status === 'FAILED') {
        throw new Error(`${props.functionName}:${props.qualifier}: Lambda could not allocate its provisioned concurrency `
          + `(${config.allocated} of ${config.requested}): ${config.statusReason ?? 'no reason given'}`);
      }
      if (now() + pollIntervalMillis > deadline) {
        throw new Error(`${props.functionName}:${props.qualifier}: provisioned concurrency was still ${config.status} (${config.allocated} of ${config.requested}) `
          + `after ${Math.round((now() - start) / 1000)} s, stopping before the handler times out`);
      }
      log({ function: props.functionName, qualifier: props.qualifier, waiting: config.status, allocated: config.allocated, requested: config.requested });
      await sleep(pollIntervalMillis);
    }
  }

  return async (event, context) => {
    if (event.RequestType === 'Delete') {
      // The reservation belongs to the function's template again once this resource is gone; only the alias's allocation is released.
      // Properties that never worked (a failed create) leave nothing to release.
      const props = tryPropertiesOf(event.ResourceProperties);
      if (props) {
        await api.deleteProvisionedConcurrencyConfig(props.functionName, props.qualifier);
      }
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const props = propertiesOf(event.ResourceProperties);
    const physicalResourceId = `${props.functionName}:${props.qualifier}`;
    const deadline = deadlineOf(context);

    if (props.stopped) {
      // Deleted again before every attempt: Application Auto Scaling may provision the alias until its target is removed.
      await reserve(props, 0, deadline, () => api.deleteProvisionedConcurrencyConfig(props.functionName, props.qualifier));
      log({ function: props.functionName, stopped: true });
      return { PhysicalResourceId: physicalResourceId };
    }

    const previous = event.RequestType === 'Update' ? propertiesOf(event.OldResourceProperties) : undefined;
    await reserve(props, props.reserved, deadline, async () => {
      // A lower reservation than the allocation (auto scaling's, under a range this deploy narrows) must wait for the allocation to shrink.
      const current = await api.getProvisionedConcurrencyConfig(props.functionName, props.qualifier);
      if (props.reserved !== undefined && current && current.requested > props.reserved) {
        await api.putProvisionedConcurrencyConfig(props.functionName, props.qualifier, props.provisioned);
      }
    });
    const changed = previous === undefined || previous.stopped || previous.provisioned !== props.provisioned
      || previous.functionName !== props.functionName || previous.qualifier !== props.qualifier;
    if (changed) {
      await persist(props, `provisioned concurrency of ${props.provisioned} on ${props.qualifier}`, deadline,
        () => api.putProvisionedConcurrencyConfig(props.functionName, props.qualifier, props.provisioned));
    }
    const config = await waitForAllocation(props, deadline);
    log({ function: props.functionName, qualifier: props.qualifier, reserved: props.reserved ?? 'none', provisioned: config?.allocated ?? 0 });
    return { PhysicalResourceId: physicalResourceId };
  };
}

export function propertiesOf(properties: Record<string, unknown>): FunctionConcurrencyProperties {
  const text = (key: string): string => {
    const value = properties[key];
    if (typeof value !== 'string' || value === '') {
      throw new Error(`function concurrency: resource property ${key} is missing`);
    }
    return value;
  };
  const whole = (key: string, min: number): number => {
    const value = Number(properties[key]);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`function concurrency: resource property ${key} (${String(properties[key])}) must be a whole number of ${min} or more`);
    }
    return value;
  };
  const killSwitch = text('KillSwitch');
  if (killSwitch !== 'on' && killSwitch !== 'off') {
    throw new Error(`function concurrency: resource property KillSwitch (${killSwitch}) must be 'on' or 'off'`);
  }
  return {
    functionName: text('FunctionName'),
    qualifier: text('Qualifier'),
    provisioned: whole('ProvisionedConcurrentExecutions', 1),
    reserved: properties.ReservedConcurrentExecutions === undefined ? undefined : whole('ReservedConcurrentExecutions', 0),
    stopped: killSwitch === 'on',
  };
}

function tryPropertiesOf(properties: Record<string, unknown>): FunctionConcurrencyProperties | undefined {
  try {
    return propertiesOf(properties);
  } catch {
    return undefined;
  }
}

function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify({ handler: 'function-concurrency', ...entry }));
}
