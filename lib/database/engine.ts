import * as rds from 'aws-cdk-lib/aws-rds';

/**
 * The protocol family of a database engine: what the proxy speaks and which
 * driver a function uses.
 */
export enum EngineFamily {
  /** PostgreSQL wire protocol (Aurora PostgreSQL, RDS for PostgreSQL). */
  POSTGRESQL = 'POSTGRESQL',
  /** MySQL wire protocol (Aurora MySQL, RDS for MySQL). */
  MYSQL = 'MYSQL',
}

/**
 * Options for Aurora PostgreSQL.
 */
export interface AuroraPostgresEngineOptions {
  /**
   * The engine version. Use a full version constant: the CloudFormation
   * validator rejects major-only versions.
   *
   * @default rds.AuroraPostgresEngineVersion.VER_17_9
   */
  readonly version?: rds.AuroraPostgresEngineVersion;
}

/**
 * Options for Aurora MySQL.
 */
export interface AuroraMysqlEngineOptions {
  /**
   * The engine version (Aurora MySQL 3, MySQL 8.0 compatible).
   *
   * @default rds.AuroraMysqlEngineVersion.VER_3_12_0
   */
  readonly version?: rds.AuroraMysqlEngineVersion;
}

/**
 * Options for RDS for PostgreSQL.
 */
export interface PostgresEngineOptions {
  /**
   * The engine version.
   *
   * @default rds.PostgresEngineVersion.VER_17_9
   */
  readonly version?: rds.PostgresEngineVersion;
}

/**
 * Options for RDS for MySQL.
 */
export interface MysqlEngineOptions {
  /**
   * The engine version.
   *
   * @default rds.MysqlEngineVersion.VER_8_0_46
   */
  readonly version?: rds.MysqlEngineVersion;
}

/**
 * Which database runs behind the proxy. Aurora engines run as a cluster
 * (Serverless v2 or provisioned instances); RDS engines run as a Multi-AZ
 * instance.
 *
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html#rds-proxy.limitations
 */
export class DatabaseEngine {
  /** Aurora PostgreSQL (the default engine). */
  public static auroraPostgres(options: AuroraPostgresEngineOptions = {}): DatabaseEngine {
    const version = options.version ?? rds.AuroraPostgresEngineVersion.VER_17_9;
    return new DatabaseEngine(EngineFamily.POSTGRESQL, true, version.auroraPostgresFullVersion, version.auroraPostgresMajorVersion,
      rds.DatabaseClusterEngine.auroraPostgres({ version }), undefined);
  }

  /** Aurora MySQL 3. */
  public static auroraMysql(options: AuroraMysqlEngineOptions = {}): DatabaseEngine {
    const version = options.version ?? rds.AuroraMysqlEngineVersion.VER_3_12_0;
    return new DatabaseEngine(EngineFamily.MYSQL, true, version.auroraMysqlFullVersion, version.auroraMysqlMajorVersion,
      rds.DatabaseClusterEngine.auroraMysql({ version }), undefined);
  }

  /** RDS for PostgreSQL on an instance. */
  public static postgres(options: PostgresEngineOptions = {}): DatabaseEngine {
    const version = options.version ?? rds.PostgresEngineVersion.VER_17_9;
    return new DatabaseEngine(EngineFamily.POSTGRESQL, false, version.postgresFullVersion, version.postgresMajorVersion,
      undefined, rds.DatabaseInstanceEngine.postgres({ version }));
  }

  /** RDS for MySQL on an instance. */
  public static mysql(options: MysqlEngineOptions = {}): DatabaseEngine {
    const version = options.version ?? rds.MysqlEngineVersion.VER_8_0_46;
    return new DatabaseEngine(EngineFamily.MYSQL, false, version.mysqlFullVersion, version.mysqlMajorVersion,
      undefined, rds.DatabaseInstanceEngine.mysql({ version }));
  }

  /**
   * The port RDS Proxy listens on for this engine family, whatever port the
   * database itself uses.
   */
  public readonly proxyPort: number;

  /** A human-readable engine name, e.g. 'Aurora PostgreSQL 17.9'. */
  public readonly displayName: string;

  private constructor(
    /** Protocol family. */
    public readonly family: EngineFamily,
    /** True for Aurora (cluster) engines, false for RDS instance engines. */
    public readonly isAurora: boolean,
    /** The full engine version, e.g. '17.9'. */
    public readonly fullVersion: string,
    /** The major engine version, e.g. '17'. */
    public readonly majorVersion: string,
    /** The cluster engine, for Aurora. */
    public readonly clusterEngine: rds.IClusterEngine | undefined,
    /** The instance engine, for RDS instances. */
    public readonly instanceEngine: rds.IInstanceEngine | undefined,
  ) {
    this.proxyPort = family === EngineFamily.POSTGRESQL ? 5432 : 3306;
    const product = family === EngineFamily.POSTGRESQL ? 'PostgreSQL' : 'MySQL';
    this.displayName = `${isAurora ? 'Aurora' : 'RDS for'} ${product} ${fullVersion}`;
  }
}
