import { Annotations, Aspects, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, IConstruct } from 'constructs';
import { DatabaseEngine } from './engine';
import { DatabaseNetwork } from '../network/database-network';
import { appConcurrencyShare, explicitReservedConcurrency, fairShare, isDerived, timeoutSeconds } from '../private/concurrency';
import { validateFunctionInVpc } from './private/function-vpc';
import { PropValidationError, resolvedSeconds } from '../private/validation';

/**
 * A database behind RDS Proxy that functions connect to: a `ProxiedDatabase`
 * of this app, or one imported from another app, from aws-cdk-lib's
 * `rds.DatabaseProxy` or from the console
 * (`ProxiedDatabase.fromProxiedDatabaseAttributes`,
 * `ProxiedDatabase.fromParameterStore`).
 */
export interface IProxiedDatabase extends IConstruct, ec2.IConnectable {
  /** The network of this app whose functions connect to the proxy: it places them in the proxy's VPC. */
  readonly network: DatabaseNetwork;
  /** The engine: what the proxy speaks, its port and the rules for database user names. */
  readonly engine: DatabaseEngine;
  /** The proxy endpoint clients connect to. */
  readonly endpoint: string;
  /** The port clients connect to (the proxy's engine port). */
  readonly port: number;
  /** Name of the application database. */
  readonly databaseName: string;
  /** The name of the proxy (the `ProxyName` dimension of its metrics). */
  readonly proxyName: string;
  /** The ARN of the proxy. */
  readonly proxyArn: string;
  /**
   * How many database connections the proxy pool holds at most; undefined
   * when it is unknown at synth.
   */
  readonly poolSize?: number;
  /** The default alarms of the database this app created (empty for an imported one). */
  readonly alarms: cloudwatch.Alarm[];

  /** Grant `rds-db:connect` through the proxy for exactly one database user. */
  grantConnect(grantee: iam.IGrantable, databaseUser: string): iam.Grant;

  /**
   * Connect a Lambda function through the proxy as `databaseUser`: opens the
   * engine port from the function's security groups to the proxy, grants
   * `rds-db:connect` for that user, and counts the function toward the pool.
   */
  connectFunction(fn: lambda.Function, databaseUser: string): iam.Grant;

  /** Client connections open to the proxy (Sum over the proxy's nodes). */
  metricProxyClientConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Connections the proxy holds open to the database (Sum): at most the pool. */
  metricProxyDatabaseConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Microseconds a client waited for a pooled database connection (Average). */
  metricProxyBorrowLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Database connections pinned to one client session (Sum). */
  metricProxyPinnedConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Percentage of time the proxy's read/write target was available (Average). */
  metricProxyAvailability(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** A function connected through the proxy. */
interface ProxyClient {
  readonly fn: lambda.Function;
  readonly databaseUser: string;
}

/** A connected function's shortest timeout: RDS Proxy waits at least 1 s for a pooled connection, which must end before the function does. */
const MINIMUM_CLIENT_TIMEOUT_SECONDS = 2;

/**
 * What a database behind RDS Proxy does for the functions that connect to
 * it, whether this app created it or imported it: network access, the
 * connect grant, pool accounting and the proxy's metrics.
 */
export abstract class ProxiedDatabaseBase extends Construct implements IProxiedDatabase {
  /** Warning id for functions whose reserved concurrency together exceeds the proxy pool. */
  public static readonly POOL_OVERCOMMIT_WARNING = 'cdk-serverless-rds:PoolOvercommitted';

  /** The network of this app whose functions connect to the proxy. */
  public abstract readonly network: DatabaseNetwork;
  /** The engine: what the proxy speaks, its port and the rules for database user names. */
  public abstract readonly engine: DatabaseEngine;
  /** The proxy endpoint clients connect to. */
  public abstract readonly endpoint: string;
  /** The port clients connect to (the proxy's engine port). */
  public abstract readonly port: number;
  /** Name of the application database. */
  public abstract readonly databaseName: string;
  /** The name of the proxy (the `ProxyName` dimension of its metrics). */
  public abstract readonly proxyName: string;
  /** The ARN of the proxy. */
  public abstract readonly proxyArn: string;
  /** How many database connections the proxy pool holds at most; undefined when it is unknown at synth. */
  public abstract readonly poolSize?: number;
  /** The default alarms of the database this app created (empty for an imported one). */
  public abstract readonly alarms: cloudwatch.Alarm[];
  /** The proxy's security group, with the engine port as default port. */
  public abstract readonly connections: ec2.Connections;

  /** @internal */
  protected readonly _clients: ProxyClient[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.node.addValidation({ validate: () => this.validatePoolShare() });
    // Explicit reservations are known only once every function of the app exists.
    Aspects.of(this).add({ visit: node => node === this && this.warnOnPoolOvercommit() });
  }

  public abstract grantConnect(grantee: iam.IGrantable, databaseUser: string): iam.Grant;

  /**
   * Connect a Lambda function through the proxy as `databaseUser`: opens the
   * engine port from the function's security groups to the proxy, grants
   * `rds-db:connect` for that user, and counts the function toward the pool
   * share. Throws when the function is not in the VPC of the network, when
   * its timeout is not above a known borrow timeout, or when its reserved
   * concurrency is above a known pool size.
   */
  public connectFunction(fn: lambda.Function, databaseUser: string): iam.Grant {
    validateFunctionInVpc(fn, this.network);
    this.validateClientTimeout(fn);
    const reserved = explicitReservedConcurrency(fn.node.defaultChild as lambda.CfnFunction);
    if (reserved !== undefined && this.poolSize !== undefined && reserved > this.poolSize) {
      throw new PropValidationError(fn,
        `reservedConcurrentExecutions (${reserved}) is above the ${this.poolSize} connections the proxy pool of ${this.node.path} can serve: lower reservedConcurrentExecutions or raise the database capacity or maxConnectionsPercent`);
    }
    this.connections.allowDefaultPortFrom(fn, 'Lambda function to RDS Proxy');
    this._clients.push({ fn, databaseUser });
    return this.grantConnect(fn, databaseUser);
  }

  /** Client connections open to the proxy (Sum over the proxy's nodes). */
  public metricProxyClientConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.proxyMetric('ClientConnections', cloudwatch.Stats.SUM, props);
  }

  /**
   * Connections the proxy holds open to the database (Sum): at most the pool,
   * `maxConnectionsPercent` of max_connections.
   */
  public metricProxyDatabaseConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.proxyMetric('DatabaseConnections', cloudwatch.Stats.SUM, props);
  }

  /**
   * Microseconds a client waited for a pooled database connection (Average).
   * Waits grow as the pool fills; at the borrow timeout the client gets an error.
   */
  public metricProxyBorrowLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.proxyMetric('DatabaseConnectionsBorrowLatency', cloudwatch.Stats.AVERAGE, props);
  }

  /**
   * Database connections pinned to one client session (Sum), which the proxy
   * cannot share until the session ends.
   *
   * @see https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html
   */
  public metricProxyPinnedConnections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.proxyMetric('DatabaseConnectionsCurrentlySessionPinned', cloudwatch.Stats.SUM, props);
  }

  /** Percentage of time the proxy's read/write target was available (Average). */
  public metricProxyAvailability(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.proxyMetric('AvailabilityPercentage', cloudwatch.Stats.AVERAGE, props, { TargetGroup: 'default', TargetRole: 'READ_WRITE' });
  }

  /**
   * A connected function's fair share of the proxy pool: what is left after
   * the explicit reservations, split among the functions without one.
   * Undefined when the pool size is unknown at synth.
   *
   * @internal
   */
  public _poolShare(): number | undefined {
    if (this.poolSize === undefined) {
      return undefined;
    }
    return fairShare(this.poolSize, this._clients.map(({ fn }) => fn.node.defaultChild as lambda.CfnFunction));
  }

  /**
   * The reserved concurrency a connected function derives: its pool share,
   * capped by its share of what the account's limit leaves to reserve after
   * the app's other reservations. Undefined when the pool size is unknown.
   *
   * @internal
   */
  public _derivedReservedConcurrency(): number | undefined {
    const poolShare = this._poolShare();
    return poolShare === undefined ? undefined : Math.min(poolShare, appConcurrencyShare(this));
  }

  /**
   * Why the pool size is unknown at synth, for messages.
   *
   * @internal
   */
  public _poolUnknownReason(): string {
    return 'its maxConnections, capacity or maxConnectionsPercent is a token';
  }

  /**
   * The borrow timeout given as a literal, which every connected function's
   * timeout must exceed; undefined when it is derived or unknown.
   *
   * @internal
   */
  protected _explicitBorrowTimeout(): Duration | undefined {
    return undefined;
  }

  /**
   * Whether this construct derives the borrow timeout from the timeouts of
   * its clients, which then must be known at synth.
   *
   * @internal
   */
  protected _derivesBorrowTimeout(): boolean {
    return false;
  }

  /**
   * The borrow timeout must stay below the function's timeout, and RDS Proxy
   * waits at least 1 s (0 would wait forever), so a connected function needs
   * a timeout of 2 s or more where the borrow timeout is derived. A token
   * timeout cannot be compared or halved.
   */
  private validateClientTimeout(fn: lambda.Function): void {
    const timeout = timeoutSeconds(fn);
    const explicitBorrowTimeout = this._explicitBorrowTimeout();
    if (timeout === undefined) {
      if (this._derivesBorrowTimeout() && explicitBorrowTimeout === undefined) {
        throw new PropValidationError(fn,
          `timeout is a token, so ${this.node.path} cannot derive a borrow timeout below it: set borrowTimeout on ${this.node.path} below the shortest timeout the function can get`);
      }
      return;
    }
    if (this._derivesBorrowTimeout() && timeout < MINIMUM_CLIENT_TIMEOUT_SECONDS) {
      throw new PropValidationError(fn,
        `timeout (${timeout} s) must be ${MINIMUM_CLIENT_TIMEOUT_SECONDS} s or more to connect through the proxy of ${this.node.path}: its borrow timeout is at least 1 s and must stay below the function's timeout; `
        + `raise timeout to Duration.seconds(${MINIMUM_CLIENT_TIMEOUT_SECONDS}) or more`);
    }
    const borrow = resolvedSeconds(explicitBorrowTimeout);
    if (borrow !== undefined && timeout <= borrow) {
      throw new PropValidationError(fn,
        `timeout (${timeout} s) must be above the proxy's borrowTimeout (${borrow} s) of ${this.node.path}: raise the function's timeout or lower borrowTimeout, so the function can answer when no pooled connection is free`);
    }
  }

  /**
   * The timeouts in seconds of the connected functions whose timeout is
   * known at synth.
   *
   * @internal
   */
  protected _clientTimeouts(): number[] {
    return this._clients.flatMap(({ fn }) => timeoutSeconds(fn) ?? []);
  }

  private proxyMetric(metricName: string, statistic: string, props?: cloudwatch.MetricOptions, dimensions: { [name: string]: string } = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      statistic,
      ...props,
      dimensionsMap: { ProxyName: this.proxyName, ...dimensions, ...props?.dimensionsMap },
    });
  }

  private validatePoolShare(): string[] {
    const derivedClients = this._clients.filter(({ fn }) => isDerived(fn.node.defaultChild as lambda.CfnFunction));
    if (derivedClients.length === 0) {
      return [];
    }
    // Functions derive a reservation only from a pool known at synth.
    const share = this._derivedReservedConcurrency()!;
    if (share < 1) {
      return [`${derivedClients.length} function(s) derive their reserved concurrency from a proxy pool of ${this.poolSize} connections and the account's reservable concurrency, which leaves them ${Math.max(0, share)}: raise the database capacity or set reservedConcurrentExecutions explicitly`];
    }
    return [];
  }

  /**
   * Each function's reservation fits the pool (checked on connect) and
   * derived reservations share what is left, so only explicit reservations
   * can add up to more than the pool. The proxy then queues borrowers, which
   * is legal but can end in borrow timeouts.
   */
  private warnOnPoolOvercommit(): void {
    const explicit = this._clients
      .map(({ fn }) => ({ fn, reserved: explicitReservedConcurrency(fn.node.defaultChild as lambda.CfnFunction) }))
      .filter((c): c is { fn: lambda.Function; reserved: number } => c.reserved !== undefined);
    const total = explicit.reduce((sum, c) => sum + c.reserved, 0);
    if (this.poolSize !== undefined && total > this.poolSize) {
      Annotations.of(this).addWarningV2(ProxiedDatabaseBase.POOL_OVERCOMMIT_WARNING,
        `The reserved concurrency of the connected functions adds up to ${total} (${explicit.map(c => `${c.fn.node.path}: ${c.reserved}`).join(', ')}), `
        + `above the proxy pool of ${this.poolSize} connections: at peak, clients wait up to the borrow timeout for a connection. `
        + 'Lower their reservedConcurrentExecutions or raise the database capacity.');
    }
  }
}
