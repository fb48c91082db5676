/**
 * Every price the review's cost floor uses, in one place, for US East
 * (N. Virginia), on demand, without free tiers. Provisioned concurrency comes
 * from the construct library, so the review and the construct's
 * `ProvisionedConcurrencyMonthlyCost` output use the same numbers.
 */
import { HOURS_PER_MONTH, PRICE_REGION, PROVISIONED_PRICE_PER_GB_SECOND_USD } from '../../lib/private/provisioned-concurrency';

export { HOURS_PER_MONTH, PRICE_REGION };

/** When the prices below were read from their pages. */
export const PRICES_TAKEN_ON = '2026-11-21';

export interface Price {
  /** What is charged, e.g. `RDS Proxy (Aurora Serverless v2 targets)`. */
  readonly name: string;
  readonly usd: number;
  /** What one unit is, e.g. `ACU-hour`. */
  readonly unit: string;
  readonly source: string;
}

const RDS_PROXY_PAGE = 'https://aws.amazon.com/rds/proxy/pricing/';
const AURORA_PAGE = 'https://aws.amazon.com/rds/aurora/pricing/';
const RDS_POSTGRESQL_PAGE = 'https://aws.amazon.com/rds/postgresql/pricing/';
const VPC_PAGE = 'https://aws.amazon.com/vpc/pricing/';
const PRIVATELINK_PAGE = 'https://aws.amazon.com/privatelink/pricing/';
const CLOUDWATCH_PAGE = 'https://aws.amazon.com/cloudwatch/pricing/';

/** RDS Proxy in front of provisioned instances: per vCPU of the target instances, at least 2 vCPUs. */
export const RDS_PROXY_VCPU_HOUR: Price = { name: 'RDS Proxy, provisioned targets', usd: 0.015, unit: 'vCPU-hour', source: RDS_PROXY_PAGE };
export const RDS_PROXY_MINIMUM_VCPUS = 2;
/** RDS Proxy in front of Aurora Serverless v2: per ACU of the targets, at least 8 ACUs (also https://blog.serverworks.co.jp/amazon-aurora-serverless-v2-and-amazon-rds-proxy-minimum-cost). */
export const RDS_PROXY_ACU_HOUR: Price = { name: 'RDS Proxy, Aurora Serverless v2 targets', usd: 0.015, unit: 'ACU-hour', source: RDS_PROXY_PAGE };
export const RDS_PROXY_MINIMUM_ACUS = 8;

/** Aurora Serverless v2 capacity, Aurora Standard and Aurora I/O-Optimized storage configurations. */
export const AURORA_SERVERLESS_V2_ACU_HOUR: Price = { name: 'Aurora Serverless v2 (Aurora Standard)', usd: 0.12, unit: 'ACU-hour', source: AURORA_PAGE };
export const AURORA_SERVERLESS_V2_IO_OPTIMIZED_ACU_HOUR: Price = { name: 'Aurora Serverless v2 (Aurora I/O-Optimized)', usd: 0.16, unit: 'ACU-hour', source: AURORA_PAGE };

/**
 * Provisioned DB instances per instance-hour (Single-AZ; Aurora Standard), by
 * engine family and class: only the classes this library's defaults and
 * examples use. A class missing here is reported as "price not in table".
 */
export const DB_INSTANCE_HOUR: { readonly [family: string]: { readonly [instanceClass: string]: Price } } = {
  aurora: {
    'db.t4g.medium': { name: 'Aurora db.t4g.medium', usd: 0.073, unit: 'instance-hour', source: AURORA_PAGE },
    'db.r6g.large': { name: 'Aurora db.r6g.large', usd: 0.26, unit: 'instance-hour', source: AURORA_PAGE },
    'db.r7g.large': { name: 'Aurora db.r7g.large', usd: 0.276, unit: 'instance-hour', source: AURORA_PAGE },
  },
  postgres: {
    'db.t4g.medium': { name: 'RDS for PostgreSQL db.t4g.medium', usd: 0.065, unit: 'instance-hour', source: RDS_POSTGRESQL_PAGE },
  },
};

/** vCPUs of DB instance classes, for RDS Proxy (from the instance class tables of the RDS and Aurora user guides). */
export const DB_INSTANCE_VCPUS: { readonly [instanceClass: string]: number } = {
  'db.t3.medium': 2,
  'db.t4g.medium': 2,
  'db.t4g.large': 2,
  'db.r6g.large': 2,
  'db.r6g.xlarge': 4,
  'db.r7g.large': 2,
  'db.r7g.xlarge': 4,
};

export const NAT_GATEWAY_HOUR: Price = { name: 'NAT gateway', usd: 0.045, unit: 'NAT gateway-hour', source: VPC_PAGE };
/** Interface VPC endpoints are billed per endpoint per Availability Zone, i.e. per subnet the endpoint is in. */
export const INTERFACE_ENDPOINT_AZ_HOUR: Price = { name: 'Interface VPC endpoint', usd: 0.01, unit: 'endpoint AZ-hour', source: PRIVATELINK_PAGE };
export const KMS_KEY_MONTH: Price = { name: 'KMS customer managed key', usd: 1, unit: 'key-month', source: 'https://aws.amazon.com/kms/pricing/' };
export const SECRET_MONTH: Price = { name: 'Secrets Manager secret', usd: 0.4, unit: 'secret-month', source: 'https://aws.amazon.com/secrets-manager/pricing/' };
/** Standard resolution (period of 60 s or more), per metric the alarm evaluates. */
export const STANDARD_ALARM_METRIC_MONTH: Price = { name: 'CloudWatch alarm, standard resolution', usd: 0.1, unit: 'alarm metric-month', source: CLOUDWATCH_PAGE };
/** High resolution (period under 60 s), per metric the alarm evaluates. */
export const HIGH_RESOLUTION_ALARM_METRIC_MONTH: Price = { name: 'CloudWatch alarm, high resolution', usd: 0.3, unit: 'alarm metric-month', source: CLOUDWATCH_PAGE };
export const COMPOSITE_ALARM_MONTH: Price = { name: 'CloudWatch composite alarm', usd: 0.5, unit: 'alarm-month', source: CLOUDWATCH_PAGE };
export const DASHBOARD_MONTH: Price = { name: 'CloudWatch dashboard', usd: 3, unit: 'dashboard-month', source: CLOUDWATCH_PAGE };

/** Provisioned concurrency per GB-second of configured memory, by architecture (the construct library's constants). */
export function provisionedConcurrencyGbSecond(architecture: string): Price | undefined {
  const usd = PROVISIONED_PRICE_PER_GB_SECOND_USD[architecture];
  return usd === undefined ? undefined : { name: `Lambda provisioned concurrency (${architecture})`, usd, unit: 'GB-second', source: 'https://aws.amazon.com/lambda/pricing/' };
}
