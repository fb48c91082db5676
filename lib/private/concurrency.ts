import { Stage, Token } from 'aws-cdk-lib';
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

/** A resolved reserved concurrency, or undefined when unset, derived or a token. */
export function explicitReservedConcurrency(fn: lambda.CfnFunction): number | undefined {
  const value = fn.reservedConcurrentExecutions;
  return value === undefined || Token.isUnresolved(value) ? undefined : value;
}

/**
 * How much concurrency each derived function of the app may reserve so that
 * all reservations together leave the account's unreserved minimum intact.
 */
export function appConcurrencyShare(scope: IConstruct): number {
  const root = Stage.of(scope) ?? scope.node.root;
  let explicit = 0;
  let derived = 0;
  for (const construct of root.node.findAll()) {
    if (!(construct instanceof lambda.CfnFunction)) continue;
    if (isDerived(construct)) {
      derived++;
    } else {
      explicit += explicitReservedConcurrency(construct) ?? 0;
    }
  }
  const reservable = accountConcurrencyLimit(scope) - UNRESERVED_MINIMUM - explicit;
  return Math.floor(reservable / Math.max(derived, 1));
}
