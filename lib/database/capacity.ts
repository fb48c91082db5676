import * as ec2 from 'aws-cdk-lib/aws-ec2';

/**
 * Options for Aurora Serverless v2 capacity.
 */
export interface ServerlessV2CapacityOptions {
  /**
   * The minimum capacity in Aurora capacity units (ACU), in steps of 0.5.
   * 0 (auto-pause) is rejected: a proxy keeps connections open, so the
   * database would never pause, and a paused database makes the proxy's
   * target unavailable.
   *
   * @default 0.5
   */
  readonly minCapacity?: number;

  /**
   * The maximum capacity in ACU, in steps of 0.5. It sets the engine's
   * `max_connections`, and so the proxy's pool size.
   *
   * @default 4
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html#aurora-serverless-v2.max-connections
   */
  readonly maxCapacity?: number;
}

/**
 * How much compute the database gets: Aurora Serverless v2 (Aurora engines
 * only) or provisioned instances of a fixed class.
 */
export class DatabaseCapacity {
  /** Aurora Serverless v2 capacity (the default for Aurora engines). */
  public static serverlessV2(options: ServerlessV2CapacityOptions = {}): DatabaseCapacity {
    return new DatabaseCapacity(options.minCapacity ?? 0.5, options.maxCapacity ?? 4, undefined);
  }

  /**
   * Provisioned instances of one class (the only choice for RDS instance
   * engines; the default there is db.t4g.medium), without the `db.` prefix
   * (`ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE)`).
   * The class must be one that RDS offers for the engine (checked at synth).
   * Micro and small classes leave the proxy no headroom: it gets all of
   * `max_connections`, the minimum AWS recommends for them.
   */
  public static provisioned(instanceType: ec2.InstanceType): DatabaseCapacity {
    return new DatabaseCapacity(undefined, undefined, instanceType);
  }

  private constructor(
    /** Minimum ACU, for Serverless v2. */
    public readonly minCapacity: number | undefined,
    /** Maximum ACU, for Serverless v2. */
    public readonly maxCapacity: number | undefined,
    /** Instance class, for provisioned capacity. */
    public readonly instanceType: ec2.InstanceType | undefined,
  ) {}

  /** True for Aurora Serverless v2 capacity. */
  public get isServerless(): boolean {
    return this.instanceType === undefined;
  }
}
