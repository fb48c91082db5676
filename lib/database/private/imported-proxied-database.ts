import { Annotations, ArnFormat, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { DatabaseNetwork } from '../../network/database-network';
import { PropValidationError, requireProps, validateDatabaseUserName, validateDuration, validateIdentifier, validateNumber } from '../../private/validation';
import { DatabaseEngine } from '../engine';
import type { ProxiedDatabaseAttributes } from '../proxied-database';
import { ProxiedDatabaseBase } from '../proxied-database-base';

/** Warning id for a check that an imported database cannot run because an attribute is missing or known only at deploy. */
export const IMPORT_CHECK_SKIPPED_WARNING = 'cdk-serverless-rds:ImportCheckSkipped';

const PROXY_ARN = /^arn:aws[a-z-]*:rds:([a-z0-9-]+):(\d{12}):db-proxy:(prx-[a-z0-9]+)$/;
const PROXY_RESOURCE_ID = /^prx-[a-z0-9]+$/;
/** RDS Proxy names: a letter, then letters, digits and single hyphens, no hyphen at the end, at most 63 characters. */
const PROXY_NAME = /^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)$/;
/** The proxy's default endpoint (`<name>.proxy-<id>.<region>.rds.amazonaws.com`) or one of its extra endpoints (`<name>.endpoint.proxy-...`). */
const PROXY_ENDPOINT = /^[a-z][a-z0-9-]*\.(endpoint\.)?proxy-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/i;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/;
const VPC_ID = /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/;

/**
 * The attributes of an import as the static that creates it has them: the
 * proxy name may be read only when first used (only metrics need it), and
 * the VPC id may be unknown at synth, with the reason.
 */
export type ImportedAttributes = Omit<ProxiedDatabaseAttributes, 'proxyName' | 'vpcId'> & {
  readonly proxyName: string | (() => string);
  readonly vpcId: string | { readonly unknownBecause: string };
};

/**
 * A database behind an RDS Proxy that another app, aws-cdk-lib's
 * `rds.DatabaseProxy` or the console created. It knows only what its
 * attributes say: a check that needs a missing attribute, or one known only
 * at deploy, is skipped with a warning.
 */
export class ImportedProxiedDatabase extends ProxiedDatabaseBase {
  public readonly network: DatabaseNetwork;
  public readonly engine: DatabaseEngine;
  public readonly endpoint: string;
  public readonly port: number;
  public readonly databaseName: string;
  public readonly proxyArn: string;
  public readonly poolSize?: number;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly connections: ec2.Connections;

  private readonly proxy: rds.IDatabaseProxy;
  private readonly borrowTimeout?: Duration;
  private readonly poolUnknownReason: string;
  private readonly proxyNameOf: () => string;
  private knownProxyName?: string;

  /**
   * @param attributesOf the attributes, given the construct (a scope for
   * what reading them creates)
   */
  constructor(scope: Construct, id: string, attributesOf: (database: Construct) => ImportedAttributes) {
    super(scope, id);
    const attrs = attributesOf(this);
    requireProps(this, attrs, {
      network: 'the DatabaseNetwork of this app in the proxy\'s VPC',
      engine: 'the engine behind the proxy, e.g. DatabaseEngine.auroraPostgres()',
      endpoint: 'the proxy endpoint',
      proxyName: 'the name of the proxy',
      proxySecurityGroupId: 'the id of the proxy\'s security group',
      vpcId: 'the id of the proxy\'s VPC',
      databaseName: 'the name of the application database',
    });
    this.network = attrs.network;
    this.engine = attrs.engine;
    this.endpoint = attrs.endpoint;
    this.port = attrs.engine.proxyPort;
    this.databaseName = attrs.databaseName;
    const proxyName = attrs.proxyName;
    this.proxyNameOf = typeof proxyName === 'function' ? proxyName : () => proxyName;
    this.borrowTimeout = attrs.borrowTimeout;
    this.validateAttributes(attrs);
    this.proxyArn = attrs.proxyArn ?? Stack.of(this).formatArn({
      service: 'rds', resource: 'db-proxy', resourceName: attrs.proxyResourceId, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const pool = this.poolSizeOf(attrs);
    this.poolSize = pool.size;
    this.poolUnknownReason = pool.unknownBecause;
    if (this.poolSize === undefined) {
      this.skipped(this.poolUnknownReason, POOL_CHECKS);
    }

    // Imported immutable unless asked: the owning team may manage the proxy's ingress itself.
    const securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'ProxySecurityGroup', attrs.proxySecurityGroupId, {
      mutable: attrs.allowIngressFromFunctions ?? false,
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(this.port) });
    this.proxy = rds.DatabaseProxy.fromDatabaseProxyAttributes(this, 'Proxy', {
      // Only the grant uses this proxy, and it needs the ARN alone.
      dbProxyArn: this.proxyArn, dbProxyName: Lazy.string({ produce: () => this.proxyName }), endpoint: this.endpoint, securityGroups: [securityGroup],
    });
  }

  /** The name of the proxy (the `ProxyName` dimension of its metrics). */
  public get proxyName(): string {
    this.knownProxyName ??= this.proxyNameOf();
    return this.knownProxyName;
  }

  /**
   * Grant `rds-db:connect` through the imported proxy for exactly one
   * database user. The proxy's owner makes the user log in to the database.
   */
  public grantConnect(grantee: iam.IGrantable, databaseUser: string): iam.Grant {
    validateDatabaseUserName(this, 'databaseUser', databaseUser, this.engine.family);
    return this.proxy.grantConnect(grantee, databaseUser);
  }

  /** @internal */
  protected override _explicitBorrowTimeout(): Duration | undefined {
    return this.borrowTimeout;
  }

  /** @internal */
  public override _poolUnknownReason(): string {
    return this.poolUnknownReason;
  }

  private poolSizeOf(attrs: ImportedAttributes): { size?: number; unknownBecause: string } {
    const { poolSize, maxConnections, maxConnectionsPercent: percent } = attrs;
    if (poolSize !== undefined) {
      return Token.isUnresolved(poolSize) ? { unknownBecause: 'poolSize is a token' } : { size: poolSize, unknownBecause: '' };
    }
    if (maxConnections === undefined) {
      return { unknownBecause: 'the import gives no poolSize, nor maxConnections with maxConnectionsPercent' };
    }
    if (Token.isUnresolved(maxConnections) || Token.isUnresolved(percent)) {
      return { unknownBecause: 'maxConnections or maxConnectionsPercent is a token' };
    }
    const size = Math.floor(maxConnections * percent! / 100);
    if (size < 1) {
      throw new PropValidationError(this,
        `maxConnections (${maxConnections}) with maxConnectionsPercent (${percent}) leaves the proxy a pool of 0 connections: check both values on the proxy and the database`);
    }
    return { size, unknownBecause: '' };
  }

  private validateAttributes(attrs: ImportedAttributes): void {
    const stack = Stack.of(this);
    if ((attrs.proxyArn === undefined) === (attrs.proxyResourceId === undefined)) {
      throw new PropValidationError(this, `${attrs.proxyArn === undefined ? 'neither proxyArn nor proxyResourceId is given' : 'both proxyArn and proxyResourceId are given'}: `
        + 'give exactly one, the proxy\'s ARN (arn:aws:rds:<region>:<account>:db-proxy:prx-...) or its resource id (prx-..., the last part of the ARN)');
    }
    this.validateProxyArn(attrs.proxyArn, stack);
    this.requirePattern('proxyResourceId', attrs.proxyResourceId, PROXY_RESOURCE_ID,
      'use the last part of the proxy\'s ARN, e.g. \'prx-0123456789abcdef0\'');
    this.requirePattern('proxyName', typeof attrs.proxyName === 'string' ? attrs.proxyName : undefined, PROXY_NAME,
      'use the proxy\'s name as RDS shows it: a letter, then letters, digits and single hyphens, no hyphen at the end, at most 63 characters');
    this.requirePattern('endpoint', attrs.endpoint, PROXY_ENDPOINT,
      'functions must connect through the proxy, not to the database: use the proxy\'s endpoint, <name>.proxy-<id>.<region>.rds.amazonaws.com');
    this.requirePattern('proxySecurityGroupId', attrs.proxySecurityGroupId, SECURITY_GROUP_ID, 'use the id of the proxy\'s security group, e.g. \'sg-0123456789abcdef0\'');
    this.validateVpc(attrs.vpcId);
    validateIdentifier(this, { prop: 'databaseName', value: attrs.databaseName, maxLength: 63 });
    this.validatePoolAttributes(attrs);
    validateDuration(this, { prop: 'borrowTimeout', value: attrs.borrowTimeout, min: Duration.seconds(1), max: Duration.seconds(300) });
    if (attrs.borrowTimeout === undefined || attrs.borrowTimeout.isUnresolved()) {
      this.skipped(attrs.borrowTimeout === undefined ? 'no borrowTimeout is given' : 'borrowTimeout is a token',
        'the synth does not check that each connected function\'s timeout is above the proxy\'s borrow timeout; give borrowTimeout as the proxy has it');
    }
  }

  private validateVpc(vpcId: ImportedAttributes['vpcId']): void {
    const network = this.network.node.path;
    const skipped = 'the synth does not check that the network is in the proxy\'s VPC (a security group rule between VPCs that are not peered fails the deploy)';
    if (typeof vpcId !== 'string') {
      this.skipped(vpcId.unknownBecause, skipped);
      return;
    }
    this.requirePattern('vpcId', vpcId, VPC_ID, 'use the id of the proxy\'s VPC, e.g. \'vpc-0123456789abcdef0\'');
    const networkVpcId = this.network.vpc.vpcId;
    if (vpcId === networkVpcId) {
      // The same value or the same token: the network is in the proxy's VPC.
    } else if (Token.isUnresolved(vpcId) || Token.isUnresolved(networkVpcId)) {
      this.skipped(`vpcId or the VPC id of ${network} is known only at deploy`, skipped);
    } else {
      throw new PropValidationError(this,
        `vpcId ('${vpcId}') is not the VPC of ${network} ('${networkVpcId}'): functions reach the proxy only from its own VPC; `
        + `create the network with vpc: ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: '${vpcId}' })`);
    }
  }

  private validateProxyArn(proxyArn: string | undefined, stack: Stack): void {
    if (proxyArn === undefined || Token.isUnresolved(proxyArn)) {
      return;
    }
    const match = PROXY_ARN.exec(proxyArn);
    if (!match) {
      throw new PropValidationError(this,
        `proxyArn ('${proxyArn}') is not the ARN of an RDS Proxy: use arn:aws:rds:<region>:<account>:db-proxy:prx-<id>, as the console or \`aws rds describe-db-proxies\` shows it`);
    }
    const parts: Array<[string, string, string]> = [['Region', match[1], stack.region], ['account', match[2], stack.account]];
    for (const [part, ofProxy, ofStack] of parts) {
      if (!Token.isUnresolved(ofStack) && ofProxy !== ofStack) {
        throw new PropValidationError(this,
          `proxyArn is in ${part} ${ofProxy}, but the stack ${stack.stackName} deploys to ${part} ${ofStack}: the functions, their VPC placement and their rds-db:connect grant `
          + `must be in the proxy's ${part}; deploy the importing stack to ${part} ${ofProxy}`);
      }
    }
  }

  private validatePoolAttributes(attrs: ImportedAttributes): void {
    const { poolSize, maxConnections, maxConnectionsPercent } = attrs;
    if (poolSize !== undefined && (maxConnections !== undefined || maxConnectionsPercent !== undefined)) {
      throw new PropValidationError(this,
        'poolSize is given together with maxConnections or maxConnectionsPercent: give either poolSize, or maxConnections with maxConnectionsPercent, from which the pool size follows');
    }
    if ((maxConnections === undefined) !== (maxConnectionsPercent === undefined)) {
      const [given, missing] = maxConnections === undefined ? ['maxConnectionsPercent', 'maxConnections'] : ['maxConnections', 'maxConnectionsPercent'];
      throw new PropValidationError(this,
        `${given} is given without ${missing}: the pool size needs both (the proxy's MaxConnectionsPercent of the database's max_connections); give ${missing} too, or give poolSize instead`);
    }
    validateNumber(this, { prop: 'poolSize', value: poolSize, min: 1, max: 100000, integer: true });
    validateNumber(this, { prop: 'maxConnections', value: maxConnections, min: 1, max: 100000, integer: true });
    validateNumber(this, { prop: 'maxConnectionsPercent', value: maxConnectionsPercent, min: 1, max: 100, integer: true });
  }

  private requirePattern(attribute: string, value: string | undefined, pattern: RegExp, fix: string): void {
    if (value !== undefined && !Token.isUnresolved(value) && !pattern.test(value)) {
      throw new PropValidationError(this, `${attribute} ('${value}') is not valid: ${fix}`);
    }
  }

  /** Warn that a check is skipped and why. */
  private skipped(because: string, what: string): void {
    Annotations.of(this).addWarningV2(IMPORT_CHECK_SKIPPED_WARNING, `${because}, so ${what}`);
  }
}

const POOL_CHECKS = 'the proxy pool is unknown: connected functions derive no reserved concurrency, consumeQueue cannot derive maxConcurrency, '
  + 'and reservations are not checked against the pool; give poolSize (the share of the pool the owning team sized for this app)';
