import { Stack, Stage, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { PropValidationError } from './validation';

/**
 * Context key for the account's Lambda concurrency limit, when it was raised
 * above the default.
 */
export const ACCOUNT_CONCURRENCY_CONTEXT = 'cdk-serverless-rds:accountConcurrencyLimit';

/** Lambda keeps this much of the account limit unreserved; reservations may not eat into it. */
export const UNRESERVED_MINIMUM = 100;

const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/** Functions whose reserved concurrency this library derives at synth. */
const derivedFunctions = new WeakSet<lambda.CfnFunction>();

export function markDerived(fn: lambda.CfnFunction): void {
  derivedFunctions.add(fn);
}

export function isDerived(fn: lambda.CfnFunction): boolean {
  return derivedFunctions.has(fn);
}

/** The account's concurrency limit from context (default 1,000). */
export function accountConcurrencyLimit(scope: IConstruct): number {
  const raw = scope.node.tryGetContext(ACCOUNT_CONCURRENCY_CONTEXT);
  if (raw === undefined) {
    return DEFAULT_ACCOUNT_CONCURRENCY;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < UNRESERVED_MINIMUM + 1) {
    throw new PropValidationError(scope,
      `context ${ACCOUNT_CONCURRENCY_CONTEXT} (${raw}) must be a whole number above ${UNRESERVED_MINIMUM}: set it to the account's Lambda concurrency limit`);
  }
  return value;
}

/** The reserved concurrency as synthesized (a derived one resolves), or undefined when unset or a token. */
export function resolvedReservedConcurrency(fn: lambda.CfnFunction): number | undefined {
  const value = Stack.of(fn).resolve(fn.reservedConcurrentExecutions);
  return typeof value === 'number' ? value : undefined;
}

/** A resolved reserved concurrency, or undefined when unset, derived or a token. */
export function explicitReservedConcurrency(fn: lambda.CfnFunction): number | undefined {
  const value = fn.reservedConcurrentExecutions;
  return value === undefined || Token.isUnresolved(value) ? undefined : value;
}

/**
 * What each function with a derived reservation gets of `total` after the
 * explicit reservations among `functions` are taken out.
 */
export function fairShare(total: number, functions: lambda.CfnFunction[]): number {
  const derived = functions.filter(isDerived).length;
  const explicit = functions.filter(fn => !isDerived(fn)).reduce((sum, fn) => sum + (explicitReservedConcurrency(fn) ?? 0), 0);
  return Math.floor((total - explicit) / Math.max(derived, 1));
}

/**
 * How much concurrency each derived function of the app may reserve so that
 * all reservations together leave the account's unreserved minimum intact.
 */
export function appConcurrencyShare(scope: IConstruct): number {
  const root = Stage.of(scope) ?? scope.node.root;
  const functions = root.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction);
  return fairShare(accountConcurrencyLimit(scope) - UNRESERVED_MINIMUM, functions);
}

/** A function's timeout in seconds; Lambda's default of 3 s when unset or a token. */
export function timeoutSeconds(fn: lambda.Function): number {
  const timeout = fn.timeout;
  return timeout === undefined || timeout.isUnresolved() ? 3 : timeout.toSeconds();
}

/** Stages whose reservations are already checked. */
const checkedStages = new WeakSet<IConstruct>();

/**
 * Check at synth, once per stage, that all reservations of the app together
 * leave the account's unreserved minimum: Lambda refuses the deploy of the
 * function that would take it, half-way through the app otherwise.
 */
export function validateAppReservations(scope: IConstruct): void {
  const root = Stage.of(scope) ?? scope.node.root;
  if (checkedStages.has(root)) {
    return;
  }
  checkedStages.add(root);
  scope.node.addValidation({
    validate: () => {
      const reservations = root.node.findAll()
        .filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction)
        .map(fn => ({ fn, reserved: resolvedReservedConcurrency(fn) }))
        .filter((r): r is { fn: lambda.CfnFunction; reserved: number } => r.reserved !== undefined);
      const total = reservations.reduce((sum, r) => sum + r.reserved, 0);
      const limit = accountConcurrencyLimit(scope);
      if (total <= limit - UNRESERVED_MINIMUM) {
        return [];
      }
      const largest = [...reservations].sort((a, b) => b.reserved - a.reserved).slice(0, 5)
        .map(r => `${r.fn.node.path}: ${r.reserved}`).join(', ');
      return [`the app reserves ${total} concurrent executions (largest: ${largest}), which leaves fewer than the ${UNRESERVED_MINIMUM} `
        + `that Lambda keeps unreserved of the account limit ${limit}: lower reservedConcurrentExecutions, or set context ${ACCOUNT_CONCURRENCY_CONTEXT} `
        + 'to the raised account limit'];
    },
  });
}
