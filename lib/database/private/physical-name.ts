import { Aws, Fn, Names } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** RDS Proxy names may have 60 characters (cluster and instance identifiers 63), so the shorter limit applies to both. */
export const MAX_PHYSICAL_NAME_LENGTH = 60;
/** The part of the stack id appended to every name: a hyphen and 8 hexadecimal digits. */
const STACK_ID_PART_LENGTH = 9;

/**
 * The first 8 hexadecimal digits of the UUID in the stack id
 * (`arn:...:stack/<name>/<uuid>`), resolved at deploy time. It differs between
 * two stacks of the same name in one account and Region, and between a stack
 * and the one created under the same name after it was deleted.
 */
export function stackIdPart(): string {
  return Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));
}

/**
 * A name for the database and its proxy that RDS accepts as a cluster
 * identifier, an instance identifier and a proxy name: a prefix from the
 * construct path (lowercase letters, digits and single hyphens, a letter
 * first) and the stack id part, at most 60 characters. Log groups built from
 * it are therefore new on every create, so a log group retained from a
 * deleted stack never blocks the next one.
 */
export function databasePhysicalName(scope: IConstruct): string {
  return Fn.join('', [`${physicalNamePrefix(scope)}-`, stackIdPart()]);
}

/** The synth-time part of `databasePhysicalName`, short enough for the stack id part to fit. */
function physicalNamePrefix(scope: IConstruct): string {
  const maxLength = MAX_PHYSICAL_NAME_LENGTH - STACK_ID_PART_LENGTH;
  const raw = Names.uniqueResourceName(scope, { maxLength, separator: '-' }).toLowerCase();
  const clean = raw.replace(/[^a-z0-9-]/g, '').replace(/-+/g, '-').replace(/^[^a-z]+/, '').replace(/-$/, '');
  return clean.length > 0 ? clean : 'db';
}
