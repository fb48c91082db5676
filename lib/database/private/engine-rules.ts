import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { DatabaseCapacity } from '../capacity';
import { DatabaseEngine, EngineFamily } from '../engine';
import { PropValidationError } from '../../private/validation';

/** The lowest minor version per major that runs Aurora PostgreSQL Serverless v2. */
const AURORA_POSTGRES_SERVERLESS_V2_MINIMUM: Record<number, number> = { 13: 6, 14: 3, 15: 2, 16: 1 };

/** Oldest majors still in standard support that RDS Proxy serves. */
const MINIMUM_POSTGRES_MAJOR = 13;

/**
 * Throws when the version does not belong to the engine, is out of support,
 * cannot run on the chosen capacity, or names another major version than
 * its full version (the major version chooses the parameter group family).
 */
export function validateEngine(scope: IConstruct, engine: DatabaseEngine, capacity: DatabaseCapacity): void {
  if (capacity.isServerless && !engine.isAurora) {
    throw new PropValidationError(scope,
      `capacity is Serverless v2 but engine is ${engine.displayName}: Serverless v2 exists only for Aurora; use DatabaseCapacity.provisioned(...) or an Aurora engine`);
  }
  const version = engine.fullVersion;
  if (Token.isUnresolved(version)) {
    return;
  }
  const majorVersion = majorVersionOf(scope, engine, capacity, version);
  if (!Token.isUnresolved(engine.majorVersion) && engine.majorVersion !== majorVersion) {
    const versionClass = versionClassOf(engine);
    throw new PropValidationError(scope,
      `engine version '${version}' has the major version '${majorVersion}', not '${engine.majorVersion}' as given: the major version chooses the parameter group family, `
      + `which must match the engine; use ${versionClass}.of('${version}', '${majorVersion}') or one of the ${versionClass}.VER_* constants`);
  }
}

/** The aws-cdk-lib class of the engine's versions, e.g. 'AuroraPostgresEngineVersion'. */
function versionClassOf(engine: DatabaseEngine): string {
  return `${engine.isAurora ? 'Aurora' : ''}${engine.family === EngineFamily.POSTGRESQL ? 'Postgres' : 'Mysql'}EngineVersion`;
}

/**
 * The major version that a full version belongs to ('17' for '17.9', '8.0'
 * for '8.0.mysql_aurora.3.12.0'); throws when the full version is not one
 * of the engine's supported versions or cannot run on the capacity.
 */
function majorVersionOf(scope: IConstruct, engine: DatabaseEngine, capacity: DatabaseCapacity, version: string): string {
  if (engine.family === EngineFamily.POSTGRESQL) {
    const match = /^(\d+)\.(\d+)$/.exec(version);
    const expected = `${versionClassOf(engine)}.VER_17_9`;
    if (!match) {
      throw new PropValidationError(scope,
        `engine version '${version}' is not a ${engine.isAurora ? 'Aurora ' : ''}PostgreSQL version (expected major.minor, e.g. '17.9'): use ${expected}`);
    }
    const [major, minor] = [Number(match[1]), Number(match[2])];
    if (major < MINIMUM_POSTGRES_MAJOR) {
      throw new PropValidationError(scope,
        `engine version '${version}' is PostgreSQL ${major}, which is out of standard support: use PostgreSQL ${MINIMUM_POSTGRES_MAJOR} or later, e.g. ${expected}`);
    }
    const serverlessMinimum = AURORA_POSTGRES_SERVERLESS_V2_MINIMUM[major];
    if (engine.isAurora && capacity.isServerless && serverlessMinimum !== undefined && minor < serverlessMinimum) {
      throw new PropValidationError(scope,
        `engine version '${version}' does not support Aurora Serverless v2 (needs ${major}.${serverlessMinimum} or later): raise the version or use DatabaseCapacity.provisioned(...)`);
    }
    return match[1];
  }
  if (engine.isAurora) {
    const match = /^8\.0\.mysql_aurora\.3\.(\d+)\.\d+$/.exec(version);
    if (!match) {
      throw new PropValidationError(scope,
        `engine version '${version}' is not an Aurora MySQL 3 version (expected e.g. '8.0.mysql_aurora.3.12.0'): use AuroraMysqlEngineVersion.VER_3_12_0`);
    }
    if (capacity.isServerless && Number(match[1]) < 2) {
      throw new PropValidationError(scope,
        `engine version '${version}' does not support Aurora Serverless v2 (needs Aurora MySQL 3.02.0 or later): use AuroraMysqlEngineVersion.VER_3_12_0`);
    }
    return '8.0';
  }
  const match = /^(8\.[04])\.\d+$/.exec(version);
  if (!match) {
    throw new PropValidationError(scope,
      `engine version '${version}' is not a supported RDS for MySQL version (expected 8.0.x or 8.4.x): use MysqlEngineVersion.VER_8_0_46`);
  }
  return match[1];
}

/**
 * The log types to export: every type the engine has, as the compliance
 * packs ask. MySQL's general log is exported but stays empty unless
 * `general_log` is turned on, because it would record every statement.
 */
export function logExports(engine: DatabaseEngine): string[] {
  if (engine.family === EngineFamily.MYSQL) {
    return ['audit', 'error', 'general', 'slowquery'];
  }
  return engine.isAurora ? ['postgresql'] : ['postgresql', 'upgrade'];
}

/** The default database port: deliberately not the engine default, since clients only ever talk to the proxy. */
export function defaultDatabasePort(engine: DatabaseEngine): number {
  return engine.family === EngineFamily.POSTGRESQL ? 5433 : 3307;
}

/** Longest admin user name RDS accepts for the engine. */
export function maxAdminNameLength(engine: DatabaseEngine): number {
  return engine.family === EngineFamily.MYSQL ? 16 : 63;
}
