import { IConstruct } from 'constructs';
import { PropValidationError } from '../../private/validation';
import { DatabaseEngine, EngineFamily } from '../engine';

const BURSTABLE = ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge'];
const TO_16XLARGE = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const TO_24XLARGE = [...TO_16XLARGE, '24xlarge'];
const TO_32XLARGE = [...TO_24XLARGE, '32xlarge'];
const TO_48XLARGE = [...TO_24XLARGE, '48xlarge'];
const R4 = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'];

/**
 * The DB instance classes (`db.<family>.<size>`) that RDS offers for each
 * engine kind in some Region, from RDS's orderable instance options (the
 * data cfn-lint ships, August 2026). Previous generations that no engine
 * version this library accepts runs on (db.m1, db.m2, db.m3, db.t1, db.r3)
 * are left out. Whether a Region offers a class for a given version is
 * decided at deploy time.
 *
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Support.html
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.DBInstanceClass.SupportAurora.html
 */
const RDS_INSTANCE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  t2: BURSTABLE, t3: BURSTABLE, t4g: BURSTABLE,
  m4: ['large', 'xlarge', '2xlarge', '4xlarge', '10xlarge', '16xlarge'],
  m5: TO_24XLARGE, m5d: TO_24XLARGE,
  m6g: TO_16XLARGE, m6gd: TO_16XLARGE, m6i: TO_32XLARGE, m6id: TO_32XLARGE, m6idn: TO_32XLARGE, m6in: TO_32XLARGE,
  m7g: TO_16XLARGE, m7i: TO_48XLARGE, m8g: TO_48XLARGE, m8gd: TO_48XLARGE, m9g: TO_48XLARGE,
  r4: R4, r5: TO_24XLARGE, r5b: TO_24XLARGE, r5d: TO_24XLARGE,
  r6g: TO_16XLARGE, r6gd: TO_16XLARGE, r6i: TO_32XLARGE, r6id: TO_32XLARGE, r6idn: TO_32XLARGE, r6in: TO_32XLARGE,
  r7g: TO_16XLARGE, r7i: TO_48XLARGE, r8g: TO_48XLARGE, r8gd: TO_48XLARGE,
  x2g: TO_16XLARGE, x2idn: ['16xlarge', '24xlarge', '32xlarge'], x2iedn: ['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge', '24xlarge', '32xlarge'],
};

/** Aurora classes common to both Aurora engines. */
const AURORA_INSTANCE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  r4: R4, r5: TO_24XLARGE, r6g: TO_16XLARGE, r6i: TO_32XLARGE, r6id: ['24xlarge', '32xlarge'],
  r7g: TO_16XLARGE, r7i: TO_48XLARGE, r8g: TO_48XLARGE, x2g: TO_16XLARGE,
};

const AURORA_POSTGRES_INSTANCE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  ...AURORA_INSTANCE_CLASSES,
  r6gd: TO_16XLARGE.slice(1), r8gd: TO_48XLARGE.slice(1),
  t3: ['small', 'medium', 'large', 'xlarge', '2xlarge'], t4g: ['medium', 'large', 'xlarge', '2xlarge'],
};

const AURORA_MYSQL_INSTANCE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  ...AURORA_INSTANCE_CLASSES,
  t2: ['small', 'medium'], t3: ['small', 'medium', 'large', 'xlarge', '2xlarge'], t4g: ['small', 'medium', 'large', 'xlarge', '2xlarge'],
};

/** A family name such as 'r6gd': series letter, generation, attributes. */
const FAMILY = /^([a-z])(\d+)([a-z]*)$/;

/** Warning id for an instance class newer than this library's table. */
export const UNLISTED_INSTANCE_CLASS_WARNING = 'cdk-serverless-rds:UnlistedInstanceClass';

/**
 * Throws when RDS does not offer the instance class (`r6g.large`, without
 * the `db.` that aws-cdk-lib adds) for the engine. A class of a newer
 * generation than the table knows in a series the engine offers (db.r9g
 * after db.r8g) is plausible, since AWS adds generations often: it returns
 * the warning to give instead of failing the synth.
 */
export function validateInstanceClass(scope: IConstruct, engine: DatabaseEngine, instanceClass: string): string | undefined {
  const product = productName(engine);
  if (instanceClass.startsWith('db.')) {
    throw new PropValidationError(scope,
      `capacity instance class '${instanceClass}' starts with 'db.', which aws-cdk-lib adds itself (the template would say 'db.${instanceClass}'): `
      + `use ec2.InstanceType.of(...) or new ec2.InstanceType('${instanceClass.slice(3)}')`);
  }
  if (instanceClass === 'serverless') {
    throw new PropValidationError(scope, 'capacity instance class serverless is Aurora Serverless v2, not a provisioned class: use DatabaseCapacity.serverlessV2()');
  }
  const table = instanceClassesOf(engine);
  const [family, size, ...rest] = instanceClass.split('.');
  const sizes = table[family];
  if (sizes !== undefined && rest.length === 0 && sizes.includes(size)) {
    return undefined;
  }
  if (sizes !== undefined) {
    throw new PropValidationError(scope,
      `capacity instance class db.${instanceClass} is not offered for ${product}: db.${family} comes in ${listed(sizes)} for ${product}; choose one of those sizes`);
  }
  const match = FAMILY.exec(family);
  const newest = match ? newestGeneration(table, match[1]) : undefined;
  const plausibleSize = rest.length === 0 && /^(micro|small|medium|large|\d*xlarge)$/.test(size ?? '');
  if (match && newest !== undefined && Number(match[2]) > newest && plausibleSize) {
    return `capacity instance class db.${instanceClass} is not in this library's table of the classes that ${product} offers, which knows the db.${match[1]} series up to generation ${newest}: `
      + `check that ${product} offers it in your Region (the deploy fails otherwise), then acknowledge this warning`;
  }
  const series = [...new Set(Object.keys(table).map(name => `db.${name.charAt(0)}`))].sort();
  throw new PropValidationError(scope,
    `capacity instance class db.${instanceClass} is not an instance class that ${product} offers: use a class of the ${listed(series, 'or')} families`
    + (engine.isAurora ? ', e.g. db.r8g.large, or DatabaseCapacity.serverlessV2()' : ', e.g. db.m8g.large'));
}

export function instanceClassesOf(engine: DatabaseEngine): Readonly<Record<string, readonly string[]>> {
  if (!engine.isAurora) {
    return RDS_INSTANCE_CLASSES;
  }
  return engine.family === EngineFamily.POSTGRESQL ? AURORA_POSTGRES_INSTANCE_CLASSES : AURORA_MYSQL_INSTANCE_CLASSES;
}

/** The highest generation of a series (the letter of db.r8g) in the table; undefined when the engine offers none of it. */
function newestGeneration(table: Readonly<Record<string, readonly string[]>>, series: string): number | undefined {
  const generations = Object.keys(table).flatMap(name => {
    const match = FAMILY.exec(name);
    return match && match[1] === series ? [Number(match[2])] : [];
  });
  return generations.length === 0 ? undefined : Math.max(...generations);
}

/** The engine without its version, e.g. 'Aurora PostgreSQL'. */
function productName(engine: DatabaseEngine): string {
  return engine.displayName.slice(0, engine.displayName.lastIndexOf(' '));
}

function listed(items: readonly string[], conjunction = 'and'): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}
