import { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel, NagPackProps } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { FunctionEnvironmentHasNoPassword, secretEnvironmentVariables } from './rds-proxy/FunctionEnvironmentHasNoPassword';
import { functionsTimingOutBeforeBorrow, ProxyBorrowTimeoutBelowFunctionTimeout } from './rds-proxy/ProxyBorrowTimeoutBelowFunctionTimeout';
import { ProxyDebugLoggingOff } from './rds-proxy/ProxyDebugLoggingOff';
import { ProxyIAMAuthRequired } from './rds-proxy/ProxyIAMAuthRequired';
import { ProxyInPrivateSubnets } from './rds-proxy/ProxyInPrivateSubnets';
import { poolGuidanceBreaches, ProxyPoolWithinEngineGuidance } from './rds-proxy/ProxyPoolWithinEngineGuidance';
import { DetailedNagPack } from './detailed-nag-pack';
import { withDetails } from './private/rule-pack';
import { ProxyTLSRequired } from './rds-proxy/ProxyTLSRequired';

/**
 * A cdk-nag (v3) rule pack for Lambda functions that reach RDS through RDS
 * Proxy. It checks what a synthesized template shows, so it works on any
 * composition, not only this library's constructs (which pass it by
 * default):
 *
 * - `RdsProxy-ProxyTLSRequired`: the proxy requires TLS.
 * - `RdsProxy-ProxyIAMAuthRequired`: every client authenticates with IAM.
 * - `RdsProxy-ProxyDebugLoggingOff`: no debug logging (it logs SQL text).
 * - `RdsProxy-ProxyInPrivateSubnets`: no subnet of the proxy is public.
 * - `RdsProxy-ProxyBorrowTimeoutBelowFunctionTimeout`: the borrow timeout is
 *   below the timeout of every function of the same stack that connects to
 *   the proxy.
 * - `RdsProxy-ProxyPoolWithinEngineGuidance`: `MaxConnectionsPercent` between
 *   the instance class minimum and 90 (100 on micro and small classes, whose
 *   minimum it is), idle connections within it.
 * - `RdsProxy-FunctionEnvironmentHasNoPassword`: no Lambda function holds a
 *   password or secret value in its environment.
 *
 * Add it like the cdk-nag packs, and acknowledge a finding with the pack
 * name as prefix:
 *
 * ```ts
 * Validations.of(app).addPlugins(new RdsProxyChecks(app));
 * Validations.of(fn).acknowledge({ id: 'RdsProxy::RdsProxy-FunctionEnvironmentHasNoPassword', reason: '...' });
 * ```
 *
 * Limits: only the stack of a proxy is searched for its targets and for the
 * functions that connect to it (through an environment variable holding its
 * endpoint, or an `rds-db:connect` grant built from it); subnets and
 * functions in other stacks are not checked.
 */
export class RdsProxyChecks extends DetailedNagPack {
  /** The plugin name, and the prefix of the rule ids. */
  public readonly name = 'RdsProxy';

  /**
   * @param scope the construct (usually the App) to write acknowledgements to
   *   CloudFormation metadata on, when `writeSuppressionsToCloudFormation` is set
   * @param props the options every cdk-nag pack has
   */
  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = this.name;
  }

  /** Apply every rule to one resource (the plugin calls this for each CfnResource). */
  protected checkResource(node: CfnResource): void {
    this.checkProxy(node);
    this.checkTargetGroup(node);
    this.checkFunction(node);
  }

  private checkProxy(node: CfnResource): void {
    this.applyRule({
      info: 'The RDS Proxy does not require TLS (RequireTLS is not true).',
      explanation: 'Without TLS, queries, results and credentials cross the network in clear text, and IAM authentication tokens '
        + 'are only accepted over TLS. Set `requireTLS: true` on `rds.DatabaseProxy` (ProxiedDatabase always does).',
      level: NagMessageLevel.ERROR,
      rule: ProxyTLSRequired,
      node,
    });
    this.applyRule({
      info: 'The RDS Proxy lets clients connect without IAM authentication (an Auth entry without IAMAuth REQUIRED, or no Auth entry and no DefaultAuthScheme IAM_AUTH).',
      explanation: 'With IAM authentication a function connects with a 15-minute token signed by its execution role, and access is '
        + 'granted per database user with rds-db:connect; without it, clients need a database password that must be stored, '
        + 'distributed and rotated. Set `iamAuth: true` on `rds.DatabaseProxy`, or `defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH` '
        + 'for end-to-end IAM authentication without secrets.',
      level: NagMessageLevel.ERROR,
      rule: ProxyIAMAuthRequired,
      node,
    });
    this.applyRule({
      info: 'The RDS Proxy has debug logging on (DebugLogging is true).',
      explanation: 'Debug logging writes the text of every SQL statement, with whatever data or credentials it contains, to CloudWatch Logs, '
        + 'and costs proxy performance. Turn it on only while troubleshooting: leave `debugLogging` unset or false on `rds.DatabaseProxy`.',
      level: NagMessageLevel.ERROR,
      rule: ProxyDebugLoggingOff,
      node,
    });
    this.applyRule({
      info: 'The RDS Proxy is in a public subnet (one that maps public IPs or routes through an internet gateway).',
      explanation: 'A proxy is only reachable from inside its VPC, so a public subnet gains nothing and puts it next to internet-facing '
        + 'resources, where a routing or security group mistake exposes the database. Keep it with the database: '
        + '`vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }` (or PRIVATE_WITH_EGRESS) on `rds.DatabaseProxy`.',
      level: NagMessageLevel.ERROR,
      rule: ProxyInPrivateSubnets,
      node,
    });
  }

  private checkTargetGroup(node: CfnResource): void {
    this.applyRule({
      info: withDetails('The RDS Proxy\'s ConnectionBorrowTimeout is not below the timeout of a Lambda function that connects to it', functionsTimingOutBeforeBorrow, node),
      explanation: 'When no pooled connection is free, the proxy makes a client wait up to the borrow timeout (120 s when unset); a '
        + 'function with a shorter timeout is killed while it waits, so its caller gets a timeout instead of an error the code could '
        + 'handle. Lower `borrowTimeout` on `rds.DatabaseProxy` (`connectionBorrowTimeout` on the target group) below the shortest '
        + 'function timeout, or raise the function\'s `timeout`. ProxiedDatabase derives a borrow timeout below its functions\' timeouts '
        + '(at least 1 s, so it connects functions with a timeout of 2 s or more). A timeout that is not a literal cannot be compared: '
        + 'acknowledge the finding with the values it takes.',
      level: NagMessageLevel.ERROR,
      rule: ProxyBorrowTimeoutBelowFunctionTimeout,
      node,
    });
    this.applyRule({
      info: withDetails('The RDS Proxy target group\'s connection pool is outside the engine guidance', poolGuidanceBreaches, node),
      explanation: 'Above 90% of max_connections (100% when unset) the proxy can take the connections that secret rotation, admin '
        + 'sessions and failover need; below the minimum AWS recommends for the instance class (55% on t-class medium, 100% on small '
        + 'and micro, which therefore leave no headroom) the pool is too small to serve; idle connections above the pool make no sense. '
        + 'Set `maxConnectionsPercent` between the class minimum and 90 (exactly 100 on small and micro classes), and '
        + '`maxIdleConnectionsPercent` at or below it, on `rds.DatabaseProxy` (ProxiedDatabase uses 70, or the class minimum when '
        + 'that is higher, and half of it). A percentage that is not a literal cannot be checked: acknowledge the finding with the '
        + 'values it takes.',
      level: NagMessageLevel.ERROR,
      rule: ProxyPoolWithinEngineGuidance,
      node,
    });
  }

  private checkFunction(node: CfnResource): void {
    this.applyRule({
      info: withDetails('The Lambda function has a password or secret in its environment variables', secretEnvironmentVariables, node),
      explanation: 'Anyone allowed to read the function configuration (lambda:GetFunctionConfiguration, the console) reads its environment, '
        + 'and a value copied at deploy time does not follow rotation. Connect with IAM authentication (`proxy.grantConnect`, as '
        + 'DatabaseFunction does), or pass the secret\'s ARN (such as DB_SECRET_ARN) and read the value at runtime.',
      level: NagMessageLevel.ERROR,
      rule: FunctionEnvironmentHasNoPassword,
      node,
    });
  }
}

