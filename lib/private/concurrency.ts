import { Stack, Stage, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { PropValidationError } from './validation';

/**
 * Context key for the account's Lambda concurrency limit in the Region the
 * app deploys to. Without it the library reserves nothing by default.
 */
export const ACCOUNT_CONCURRENCY_CONTEXT = 'cdk-serverless-rds:accountConcurrencyLimit';

/**
 * Lambda keeps this much of the account limit unreserved (the whole limit
 * when it is lower: new accounts start at 10): reservations, and the
 * provisioned concurrency of functions without one, may not eat into it.
 */
export const UNRESERVED_MINIMUM = 100;

/** The account's Lambda concurrency limit from context; undefined when the app does not give it. */
export function accountConcurrencyLimit(scope: IConstruct): number | undefined {
  const raw = scope.node.tryGetContext(ACCOUNT_CONCURRENCY_CONTEXT);
  if (raw === undefined) {
    return undefined;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new PropValidationError(scope,
      `context ${ACCOUNT_CONCURRENCY_CONTEXT} (${raw}) must be a whole number of 1 or more: set it to the account's Lambda concurrency limit `
      + 'in the Region (Service Quotas, "Concurrent executions"), or remove it to reserve nothing by default');
  }
  return value;
}

/** What an account limit leaves to reserve: all but the 100 Lambda keeps unreserved, nothing of a limit of 100 or less. */
export function reservableConcurrency(limit: number): number {
  return Math.max(0, limit - UNRESERVED_MINIMUM);
}

/** How a function of this library got its reservation. */
export interface Reservation {
  /** The reservation given as a prop; may be a token. */
  readonly explicit?: number;
  /** Computes the derived reservation at synth; set only when the library derives one. */
  readonly derive?: () => number;
}

const reservations = new WeakMap<lambda.CfnFunction, Reservation>();

/**
 * Record how the library decided `fn`'s reservation. Readers use this rather
 * than the template property, which holds a kill switch condition or nothing
 * at all when a custom resource applies the reservation.
 */
export function declareReservation(fn: lambda.CfnFunction, reservation: Reservation): void {
  reservations.set(fn, reservation);
}

/** Whether the library derives `fn`'s reservation. */
export function isDerived(fn: lambda.CfnFunction): boolean {
  return reservations.get(fn)?.derive !== undefined;
}

/** Whether `fn` has a reservation, explicit (even a token) or derived. Functions of other constructs: a template value. */
export function hasReservation(fn: lambda.CfnFunction): boolean {
  const reservation = reservations.get(fn);
  return reservation ? reservation.explicit !== undefined || reservation.derive !== undefined : fn.reservedConcurrentExecutions !== undefined;
}

/** Whether synth will know `fn`'s reservation: explicit and no token, or derived. */
export function reservationKnownAtSynth(fn: lambda.CfnFunction): boolean {
  return explicitReservedConcurrency(fn) !== undefined || isDerived(fn);
}

/** An explicit reservation known at synth; undefined when there is none, it is derived or a token. */
export function explicitReservedConcurrency(fn: lambda.CfnFunction): number | undefined {
  const value = reservations.has(fn) ? reservations.get(fn)!.explicit : Stack.of(fn).resolve(fn.reservedConcurrentExecutions);
  return typeof value === 'number' && !Token.isUnresolved(value) ? value : undefined;
}

/** The reservation as deployed (a derived one computed); undefined when there is none or it is a token. */
export function reservedConcurrency(fn: lambda.CfnFunction): number | undefined {
  return explicitReservedConcurrency(fn) ?? reservations.get(fn)?.derive?.();
}

/**
 * What each function of this library without an explicit reservation gets of
 * `total` after the explicit reservations among `functions` are taken out.
 */
export function fairShare(total: number, functions: lambda.CfnFunction[]): number {
  const sharing = functions.filter(fn => reservations.has(fn) && reservations.get(fn)!.explicit === undefined).length;
  const explicit = functions.reduce((sum, fn) => sum + (explicitReservedConcurrency(fn) ?? 0), 0);
  return Math.floor((total - explicit) / Math.max(sharing, 1));
}

function functionsOf(root: IConstruct): lambda.CfnFunction[] {
  return root.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction);
}

/**
 * How much concurrency each derived function of the app may reserve so that
 * all reservations together leave the account's unreserved minimum intact.
 * Unlimited when the context does not give the account limit (nothing is
 * derived then).
 */
export function appConcurrencyShare(scope: IConstruct): number {
  const limit = accountConcurrencyLimit(scope);
  if (limit === undefined) {
    return Number.POSITIVE_INFINITY;
  }
  // Functions without any reservation take nothing of what the account leaves to reserve.
  return fairShare(reservableConcurrency(limit), functionsOf(Stage.of(scope) ?? scope.node.root).filter(hasReservation));
}

/** A function's timeout in seconds (Lambda's default of 3 s when unset); undefined when it is a token. */
export function timeoutSeconds(fn: lambda.Function): number | undefined {
  const timeout = fn.timeout;
  if (timeout === undefined) {
    return 3;
  }
  return timeout.isUnresolved() ? undefined : timeout.toSeconds();
}

/** Stages whose reservations are already checked. */
const checkedStages = new WeakSet<IConstruct>();

/**
 * Check at synth, once per stage and when the context gives the account
 * limit, that the app's reservations leave the account's unreserved minimum:
 * Lambda refuses the deploy of the function that would take it, half-way
 * through the app otherwise. (With the limit known, every function of this
 * library with provisioned concurrency has a reservation that holds it.)
 */
export function validateAppReservations(scope: IConstruct): void {
  const root = Stage.of(scope) ?? scope.node.root;
  if (checkedStages.has(root)) {
    return;
  }
  checkedStages.add(root);
  scope.node.addValidation({
    validate: () => {
      const limit = accountConcurrencyLimit(scope);
      if (limit === undefined) {
        return [];
      }
      const reservations = functionsOf(root)
        .map(fn => ({ fn, reserved: reservedConcurrency(fn) }))
        .filter((r): r is { fn: lambda.CfnFunction; reserved: number } => r.reserved !== undefined);
      const total = reservations.reduce((sum, r) => sum + r.reserved, 0);
      if (total <= reservableConcurrency(limit)) {
        return [];
      }
      const largest = [...reservations].sort((a, b) => b.reserved - a.reserved).slice(0, 5)
        .map(r => `${r.fn.node.path}: ${r.reserved}`).join(', ');
      return [`the app reserves ${total} concurrent executions (largest: ${largest}), which leaves fewer than the ${Math.min(UNRESERVED_MINIMUM, limit)} `
        + `that Lambda keeps unreserved of the account limit ${limit} (context ${ACCOUNT_CONCURRENCY_CONTEXT}): lower reservedConcurrentExecutions, `
        + 'or raise the account limit (Service Quotas) and the context with it'];
    },
  });
}
