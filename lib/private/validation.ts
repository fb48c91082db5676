import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Thrown at synth when a prop is wrong. The message names the prop, the value
 * and the fix; the construct path tells where.
 */
export class PropValidationError extends Error {
  constructor(scope: IConstruct, message: string) {
    super(`${scope.node.path}: ${message}`);
    this.name = 'ValidationError';
  }
}

/** Seconds of a duration, or undefined when the duration is absent or a token. */
export function resolvedSeconds(duration: Duration | undefined): number | undefined {
  if (duration === undefined || duration.isUnresolved()) {
    return undefined;
  }
  return duration.toSeconds();
}

/**
 * Throws when a value that shapes the construct tree (how many subnets or
 * instances to create) or that the construct computes with at synth is a
 * token (a duration included): it must be known at synth.
 */
export function requireResolved(scope: IConstruct, prop: string, value: unknown, why: string): void {
  if (value !== undefined && (value instanceof Duration ? value.isUnresolved() : Token.isUnresolved(value))) {
    throw new PropValidationError(scope, `${prop} must be a value known at synth, not a token: it decides ${why}; pass a literal`);
  }
}

export interface NumberRule {
  /** The prop name as the user writes it. */
  readonly prop: string;
  readonly value: number | undefined;
  readonly min: number;
  /** No upper bound when undefined. */
  readonly max?: number;
  /** Unit appended to numbers in the message, e.g. ' MB'. */
  readonly unit?: string;
  /** Require a whole number. */
  readonly integer?: boolean;
  /** Require a multiple of this step (e.g. 0.5 ACU). */
  readonly step?: number;
}

/** Throws when a resolved number is outside its range; tokens and undefined pass. */
export function validateNumber(scope: IConstruct, rule: NumberRule): void {
  const { prop, value, min, max } = rule;
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  const unit = rule.unit ?? '';
  if (max === undefined && (!Number.isFinite(value) || value < min)) {
    throw new PropValidationError(scope, `${prop} (${value}${unit}) must be ${min}${unit} or more: set ${prop} to at least ${min}${unit}`);
  }
  if (max !== undefined && (!Number.isFinite(value) || value < min || value > max)) {
    throw new PropValidationError(scope,
      `${prop} (${value}${unit}) must be between ${min}${unit} and ${max}${unit}: set ${prop} within that range`);
  }
  if (rule.integer && !Number.isInteger(value)) {
    throw new PropValidationError(scope, `${prop} (${value}${unit}) must be a whole number: round ${prop}`);
  }
  if (rule.step !== undefined && Math.abs(value / rule.step - Math.round(value / rule.step)) > 1e-9) {
    throw new PropValidationError(scope,
      `${prop} (${value}${unit}) must be a multiple of ${rule.step}${unit}: use for example ${Math.round(value / rule.step) * rule.step}${unit}`);
  }
}

export interface DurationRule {
  readonly prop: string;
  readonly value: Duration | undefined;
  readonly min: Duration;
  readonly max: Duration;
}

/** Throws when a resolved duration is outside its range or not whole seconds; tokens pass. */
export function validateDuration(scope: IConstruct, rule: DurationRule): void {
  const { prop, value } = rule;
  if (value === undefined || value.isUnresolved()) {
    return;
  }
  const seconds = value.toMilliseconds() / 1000;
  if (!Number.isInteger(seconds)) {
    throw new PropValidationError(scope, `${prop} (${value.toMilliseconds()} ms) must be a whole number of seconds: round ${prop} to seconds`);
  }
  validateNumber(scope, { prop, value: seconds, min: rule.min.toSeconds(), max: rule.max.toSeconds(), unit: ' s', integer: true });
}

/**
 * Identifier rules shared by PostgreSQL and MySQL so that one name works on
 * both engines and never needs quoting: a letter, then letters, digits or
 * underscores.
 */
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Names that PostgreSQL or MySQL reserve, or that RDS keeps for itself. */
const RESERVED_USER_NAMES = new Set([
  'admin', 'postgres', 'root', 'rdsadmin', 'rdsrepladmin', 'rds_superuser', 'rds_iam', 'rdsproxyadmin',
  'mysql', 'public', 'user', 'current_user', 'session_user', 'all', 'pg_signal_backend',
]);

export interface IdentifierRule {
  readonly prop: string;
  readonly value: string | undefined;
  /** Longest accepted name (MySQL user names: 32; PostgreSQL: 63). */
  readonly maxLength: number;
  /** Reject names reserved by the engines or RDS (for user names). */
  readonly rejectReserved?: boolean;
}

/** Throws when a resolved database identifier is not a plain, unreserved identifier. */
export function validateIdentifier(scope: IConstruct, rule: IdentifierRule): void {
  const { prop, value, maxLength } = rule;
  if (value === undefined || Token.isUnresolved(value)) {
    return;
  }
  if (!IDENTIFIER.test(value) || value.length > maxLength) {
    throw new PropValidationError(scope,
      `${prop} ('${value}') is not a valid database identifier: use 1 to ${maxLength} characters, a letter first, then letters, digits or underscores (e.g. 'app_user')`);
  }
  if (rule.rejectReserved && RESERVED_USER_NAMES.has(value.toLowerCase())) {
    throw new PropValidationError(scope,
      `${prop} ('${value}') is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. '${value.toLowerCase()}_app'`);
  }
}
