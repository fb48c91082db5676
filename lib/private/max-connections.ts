import { Token } from 'aws-cdk-lib';
import { EngineFamilyValue } from './engine-family';

/**
 * Default `max_connections` of Aurora Serverless v2 by maximum ACU, from the
 * Aurora user guide ("Maximum connections for Aurora Serverless v2").
 */
const SERVERLESS_V2_ROWS: Record<EngineFamilyValue, ReadonlyArray<readonly [number, number]>> = {
  POSTGRESQL: [[1, 189], [4, 823], [8, 1669], [16, 3360], [32, 5000], [64, 5000], [128, 5000], [256, 5000]],
  MYSQL: [[1, 90], [4, 135], [8, 1000], [16, 2000], [32, 3000], [64, 4000], [128, 5000], [256, 5000]],
};

/** Aurora PostgreSQL Serverless v2 with a minimum of 0.5 ACU caps max_connections at 2,000. */
const POSTGRES_HALF_ACU_CAP = 2000;

/** Aurora MySQL provisioned classes (Aurora user guide, "Maximum connections to an Aurora MySQL DB instance"). */
const AURORA_MYSQL_BY_SIZE: Record<string, number> = {
  medium: 90, large: 1000, xlarge: 2000, '2xlarge': 3000, '4xlarge': 4000,
};
const AURORA_MYSQL_BURSTABLE_BY_SIZE: Record<string, number> = { medium: 90, large: 135 };

const GIB = 1024 ** 3;
const BURSTABLE_MEMORY_GIB: Record<string, number> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, '2xlarge': 32 };
/** Memory per vCPU of the general-purpose and memory-optimised classes RDS offers. */
const MEMORY_GIB_PER_VCPU: ReadonlyArray<readonly [RegExp, number]> = [
  [/^m\d+[a-z]*$/, 4],
  [/^r\d+[a-z]*$/, 8],
  [/^x2(g|idn)$/, 16],
  [/^x2iedn$/, 32],
];

/** The parts of an instance class such as 'r6g.xlarge'. */
export function parseInstanceClass(instanceClass: string): { family: string; size: string; burstable: boolean } {
  const [family, size] = instanceClass.replace(/^db\./, '').split('.');
  return { family, size: size ?? '', burstable: /^t\d/.test(family) };
}

function vcpus(size: string): number | undefined {
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const multiple = /^(\d+)xlarge$/.exec(size);
  return multiple ? Number(multiple[1]) * 4 : undefined;
}

/** Nominal memory of an RDS instance class in bytes, or undefined for classes this library does not know. */
export function instanceMemoryBytes(instanceClass: string): number | undefined {
  const { family, size, burstable } = parseInstanceClass(instanceClass);
  if (burstable) {
    const gib = BURSTABLE_MEMORY_GIB[size];
    return gib === undefined ? undefined : gib * GIB;
  }
  const perVcpu = MEMORY_GIB_PER_VCPU.find(([pattern]) => pattern.test(family))?.[1];
  const cpus = vcpus(size);
  return perVcpu === undefined || cpus === undefined ? undefined : perVcpu * cpus * GIB;
}

/**
 * The default `max_connections` of Aurora Serverless v2 between `minCapacity`
 * and `maxCapacity` ACUs, or undefined when either is a token.
 *
 * The documented table is followed: PostgreSQL (whose limit grows linearly
 * with memory) is interpolated between rows, MySQL (a step function) takes
 * the row at or below the maximum ACU.
 */
export function serverlessV2DefaultMaxConnections(family: EngineFamilyValue, minCapacity: number, maxCapacity: number): number | undefined {
  if (Token.isUnresolved(maxCapacity) || Token.isUnresolved(minCapacity)) {
    return undefined;
  }
  const value = serverlessV2TableValue(family, maxCapacity);
  return family === 'POSTGRESQL' && minCapacity <= 0.5 ? Math.min(value, POSTGRES_HALF_ACU_CAP) : value;
}

/**
 * The engine's default `max_connections` on an instance class such as
 * 'db.r6g.large', or undefined when it cannot be known at synth (a token, or
 * a class missing from the tables).
 *
 * The documented formulas are applied to the nominal memory of the class;
 * RDS reserves some memory for the OS, so the real value is a few percent
 * lower, which the proxy's headroom absorbs.
 */
export function instanceDefaultMaxConnections(family: EngineFamilyValue, isAurora: boolean, instanceClass: string): number | undefined {
  if (Token.isUnresolved(instanceClass)) {
    return undefined;
  }
  if (isAurora && family === 'MYSQL') {
    const { size, burstable } = parseInstanceClass(instanceClass);
    const table = burstable ? AURORA_MYSQL_BURSTABLE_BY_SIZE : AURORA_MYSQL_BY_SIZE;
    const fromTable = table[size];
    if (fromTable !== undefined) return fromTable;
    // Larger r-classes allow more; the 4xlarge value is a safe floor.
    return !burstable && vcpus(size) !== undefined && vcpus(size)! > 16 ? AURORA_MYSQL_BY_SIZE['4xlarge'] : undefined;
  }
  const memory = instanceMemoryBytes(instanceClass);
  if (memory === undefined) {
    return undefined;
  }
  return family === 'POSTGRESQL'
    ? Math.min(Math.floor(memory / 9531392), 5000)
    : Math.floor(memory / 12582880);
}

function serverlessV2TableValue(family: EngineFamilyValue, maxCapacity: number): number {
  const rows = SERVERLESS_V2_ROWS[family];
  let lower = rows[0];
  for (const row of rows) {
    if (row[0] <= maxCapacity) lower = row;
  }
  const upper = rows.find(([acu]) => acu > maxCapacity);
  if (family === 'MYSQL' || upper === undefined || lower[0] === maxCapacity) {
    return lower[1];
  }
  const fraction = (maxCapacity - lower[0]) / (upper[0] - lower[0]);
  return Math.floor(lower[1] + fraction * (upper[1] - lower[1]));
}

/**
 * The `MaxConnectionsPercent` of a ProxiedDatabase unless the instance class
 * needs more: 30% of `max_connections` stays free for the bootstrap and
 * rotation functions, admin sessions and failover.
 */
export const DEFAULT_PROXY_PERCENT = 70;

/**
 * The highest `MaxConnectionsPercent` this library accepts without a warning:
 * the rest of `max_connections` stays free for the rotation function, admin
 * sessions and failover.
 */
export const PROXY_HEADROOM_MAXIMUM_PERCENT = 90;

/**
 * The highest `MaxConnectionsPercent` that keeps to the guidance on a target
 * whose classes need at least `minimum` (undefined: no class minimum):
 * `PROXY_HEADROOM_MAXIMUM_PERCENT`, or the minimum itself where AWS asks for
 * more, which leaves micro and small classes no headroom at all.
 */
export function headroomMaximumPercent(minimum: number | undefined): number {
  return Math.max(PROXY_HEADROOM_MAXIMUM_PERCENT, minimum ?? 0);
}

/**
 * The lowest `MaxConnectionsPercent` AWS recommends for RDS Proxy on an
 * instance class such as 'db.t4g.medium' or 'r6g.large' (small classes need
 * a larger share to work at all).
 *
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-best-practices.configuration.html
 */
export function minimumProxyPercentForInstanceClass(instanceClass: string): number {
  const { size, burstable } = parseInstanceClass(instanceClass);
  if (!burstable) {
    return 20;
  }
  switch (size) {
    case 'micro':
    case 'small':
      return 100;
    case 'medium':
      return 55;
    case 'large':
      return 35;
    default:
      return 20;
  }
}
