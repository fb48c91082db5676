// Generated from lib/private/database-user-names.ts by `npx tsx bin/generate-shared.ts`: edit that file, then run the command.
/**
 * The rule for the names of application database users, for the constructs
 * at synth and for the bootstrap handler at deploy. This file imports
 * nothing: lambda/bootstrap carries a generated copy of it
 * (bin/generate-shared.ts), because handler code never imports lib/.
 */

/** The engine families, as the bootstrap's resource properties name them. */
export type UserNameEngine = 'postgresql' | 'mysql';

/** Longest user name: PostgreSQL's identifier limit, MySQL's limit on account names (RDS for MySQL and Aurora MySQL). */
export const MAX_USER_NAME_LENGTH: Readonly<Record<UserNameEngine, number>> = { postgresql: 63, mysql: 32 };

/**
 * A lowercase letter, then lowercase letters, digits or underscores: the
 * name works unquoted on both engines, and the IAM token, the
 * `rds-db:connect` grant and the database all spell it the same way
 * (PostgreSQL folds unquoted names to lowercase, MySQL compares them as
 * written).
 */
const USER_NAME = /^[a-z][a-z0-9_]*$/;

/** Names that PostgreSQL, MySQL or RDS reserve, create for themselves or use as the admin's default. */
const RESERVED_USER_NAMES: ReadonlySet<string> = new Set([
  'admin', 'all', 'current_role', 'current_user', 'mysql', 'none', 'postgres', 'public', 'root', 'session_user', 'user',
  'rds_ad', 'rds_iam', 'rds_password', 'rds_replication', 'rds_superuser', 'rds_superuser_role',
  'rdsadmin', 'rdsproxyadmin', 'rdsrepladmin', 'rdstopmgr',
]);
/** PostgreSQL refuses role names that start with this prefix. */
const RESERVED_PREFIX = 'pg_';

/**
 * Why the engine or RDS would not let `name` be an application user (any
 * case), as the end of a sentence that starts with the name; undefined when
 * the name is free.
 */
export function reservedUserNameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (!RESERVED_USER_NAMES.has(lower) && !lower.startsWith(RESERVED_PREFIX)) {
    return undefined;
  }
  return `is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. 'app_${lower.replace(RESERVED_PREFIX, '')}'`;
}

/**
 * What is wrong with `name` as the name of an application user on `engine`,
 * as the end of a sentence that starts with the name; undefined when
 * nothing is.
 */
export function userNameProblem(name: string, engine: UserNameEngine): string | undefined {
  const maxLength = MAX_USER_NAME_LENGTH[engine];
  if (name.length > maxLength || !USER_NAME.test(name.toLowerCase())) {
    return `is not a valid database user name: use 1 to ${maxLength} characters, a lowercase letter first, then lowercase letters, digits or underscores (e.g. 'app_user')`;
  }
  if (!USER_NAME.test(name)) {
    return `must be lowercase: the IAM token, the rds-db:connect grant and the database must spell the user the same way; use '${name.toLowerCase()}'`;
  }
  return reservedUserNameProblem(name);
}
