import { Duration, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { reservedUserNameProblem, userNameProblem } from './database-user-names';
import { EngineFamilyValue, engineName } from './engine-family';

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
  const reserved = rule.rejectReserved ? reservedUserNameProblem(value) : undefined;
  if (reserved) {
    throw new PropValidationError(scope, `${prop} ('${value}') ${reserved}`);
  }
}

/**
 * Throws when a resolved name is not one an application user may have on
 * the engine: the same rule the bootstrap handler applies at deploy.
 */
export function validateDatabaseUserName(scope: IConstruct, prop: string, value: string, family: EngineFamilyValue): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  const problem = userNameProblem(value, engineName(family));
  if (problem) {
    throw new PropValidationError(scope, `${prop} ('${value}') ${problem}`);
  }
}

/**
 * Throws when JavaScript callers (or other jsii languages) leave out props
 * that the types require; TypeScript callers never do. `required` maps each
 * required prop to what it is, for the message; `prefix` names the struct
 * (e.g. 'provisionedConcurrency') when it is not the construct's own props.
 */
export function requireProps(scope: IConstruct, props: object | undefined, required: { [prop: string]: string }, prefix?: string): void {
  const where = (prop: string) => (prefix ? `${prefix}.${prop}` : prop);
  const values = (props ?? {}) as { [prop: string]: unknown };
  const missing = Object.keys(required).filter(prop => values[prop] === undefined || values[prop] === null);
  if (missing.length > 0) {
    throw new PropValidationError(scope, `${missing.map(where).join(', ')} ${missing.length === 1 ? 'is' : 'are'} required but missing: pass `
      + missing.map(prop => `${where(prop)} (${required[prop]})`).join(', '));
  }
}
