/**
 * Custom resource handler (Custom::ProxyTargetsAvailable, run by the stack's
 * custom resource function, see ../custom-resource/handler) that holds a
 * deployment until an RDS Proxy can reach its database:
 * CloudFormation reports the proxy and its target group as created long
 * before the proxy has logged in to the database, so anything deployed after
 * them (a bootstrap run, a smoke test, the first request) would otherwise
 * fail with a vague timeout.
 *
 * ResourceProperties: { ServiceToken, ProxyName, TargetGroupName } (the
 * target group is 'default' for proxies created by aws-cdk-lib).
 *
 * Runs outside the VPC: it only calls the RDS control plane.
 */
import {
  DBProxyTarget,
  DescribeDBProxyTargetsCommand,
  DescribeDBProxyTargetsCommandOutput,
  TargetHealthReason,
  TargetState,
  TargetType,
} from '@aws-sdk/client-rds';
import { polling, PollingOptions } from '../custom-resource/polling';
import type { CustomResourceHandler } from '../custom-resource/response';

export interface ProxyReadinessProperties {
  readonly ProxyName: string;
  readonly TargetGroupName: string;
}

/** The one RDS call this handler makes; an `RDSClient` satisfies it. */
export interface ProxyTargetsApi {
  send(command: DescribeDBProxyTargetsCommand): Promise<DescribeDBProxyTargetsCommandOutput>;
}

export interface ProxyReadinessOptions extends PollingOptions {
  readonly rds: ProxyTargetsApi;
  /** @default 10 s */
  readonly pollIntervalMillis?: number;
  /**
   * How long a target may stay unavailable for a failure reason before the
   * deployment fails: targets flap while users and secrets are being set up.
   * @default 3 min
   */
  readonly failureGraceMillis?: number;
}

/** Reasons that mean a misconfiguration rather than a proxy still warming up, with what to check. */
const FAILURE_HINTS: Partial<Record<TargetHealthReason, string>> = {
  [TargetHealthReason.AUTH_FAILURE]:
    'the proxy cannot log in to the database: check the secret the proxy uses (its username and password must match a database user, '
    + 'and the proxy role needs secretsmanager:GetSecretValue and kms:Decrypt for a customer-managed key) or, with end-to-end IAM '
    + 'authentication, that the user exists with IAM authentication and the proxy role may rds-db:connect as it',
  [TargetHealthReason.CONNECTION_FAILED]:
    'the proxy reaches the database but the connection fails: check that the database security group allows the proxy security group '
    + 'on the database port, and the TLS settings (require_secure_transport / rds.force_ssl against the proxy\'s TLS requirement)',
  [TargetHealthReason.UNREACHABLE]:
    'the proxy cannot reach the database over the network: check the security groups, subnets and network ACLs between the proxy and the database',
  [TargetHealthReason.INVALID_REPLICATION_STATE]:
    'the database instance is not in a state the proxy accepts (e.g. a replica that is not replicating): check the instance in the RDS console',
};

const PHYSICAL_ID_PREFIX = 'proxy-readiness';

export function createHandler(options: ProxyReadinessOptions): CustomResourceHandler {
  const { now, sleep, deadline: deadlineOf } = polling(options);
  const pollIntervalMillis = options.pollIntervalMillis ?? 10_000;
  const failureGraceMillis = options.failureGraceMillis ?? 180_000;

  return async (event, context) => {
    if (event.RequestType === 'Delete') {
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const { ProxyName: proxyName, TargetGroupName: targetGroupName } = propertiesOf(event.ResourceProperties);
    const physicalResourceId = `${PHYSICAL_ID_PREFIX}:${proxyName}:${targetGroupName}`;

    const start = now();
    const deadline = deadlineOf(context);
    /** When each target entered its current run of failure states. */
    const failingSince = new Map<string, number>();

    for (;;) {
      const targets = (await describeTargets(options.rds, proxyName, targetGroupName)).filter(isDatabaseTarget);
      const checkedAt = now();
      if (targets.length > 0 && targets.every(target => target.TargetHealth?.State === TargetState.available)) {
        log({ proxy: proxyName, targetGroup: targetGroupName, available: targets.map(targetId), waitedMillis: checkedAt - start });
        return { PhysicalResourceId: physicalResourceId, Data: { AvailableTargets: String(targets.length) } };
      }

      for (const target of targets) {
        const id = targetId(target);
        if (!isFailing(target)) {
          failingSince.delete(id);
          continue;
        }
        const since = failingSince.get(id) ?? checkedAt;
        failingSince.set(id, since);
        if (checkedAt - since > failureGraceMillis) {
          throw new Error(`RDS Proxy ${proxyName} (target group ${targetGroupName}) cannot use its database: ${describeTarget(target)}, `
            + `for ${Math.round((checkedAt - since) / 1000)} s; ${FAILURE_HINTS[target.TargetHealth!.Reason!]}`);
        }
      }

      if (checkedAt + pollIntervalMillis > deadline) {
        const lastSeen = targets.length > 0 ? targets.map(describeTarget).join('; ') : 'no database instance registered as a target yet';
        throw new Error(`RDS Proxy ${proxyName} (target group ${targetGroupName}) was not available after ${Math.round((checkedAt - start) / 1000)} s, `
          + `stopping before the function times out; last state: ${lastSeen}`);
      }
      log({ proxy: proxyName, targetGroup: targetGroupName, waiting: targets.map(describeTarget) });
      await sleep(pollIntervalMillis);
    }
  };
}

function propertiesOf(properties: Record<string, unknown>): ProxyReadinessProperties {
  const missing = ['ProxyName', 'TargetGroupName'].filter(key => typeof properties[key] !== 'string' || properties[key] === '');
  if (missing.length > 0) {
    throw new Error(`proxy readiness: missing resource properties: ${missing.join(', ')}`);
  }
  return properties as unknown as ProxyReadinessProperties;
}

async function describeTargets(rds: ProxyTargetsApi, proxyName: string, targetGroupName: string): Promise<DBProxyTarget[]> {
  const targets: DBProxyTarget[] = [];
  let marker: string | undefined;
  do {
    const page = await rds.send(new DescribeDBProxyTargetsCommand({ DBProxyName: proxyName, TargetGroupName: targetGroupName, Marker: marker }));
    targets.push(...(page.Targets ?? []));
    marker = page.Marker;
  } while (marker);
  return targets;
}

/**
 * The cluster entry of an Aurora target group only tracks membership; the
 * instances (or a serverless endpoint) are what the proxy connects to.
 */
function isDatabaseTarget(target: DBProxyTarget): boolean {
  return target.Type !== TargetType.TRACKED_CLUSTER;
}

function isFailing(target: DBProxyTarget): boolean {
  const health = target.TargetHealth;
  return health?.State === TargetState.unavailable && health.Reason !== undefined && FAILURE_HINTS[health.Reason] !== undefined;
}

function targetId(target: DBProxyTarget): string {
  return target.RdsResourceId ?? target.Endpoint ?? target.TargetArn ?? 'unknown target';
}

function describeTarget(target: DBProxyTarget): string {
  const health = target.TargetHealth;
  const parts = [health?.State ?? 'no state', health?.Reason, health?.Description].filter(part => part);
  return `${targetId(target)} is ${parts.join(' / ')}`;
}

function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify({ handler: 'proxy-readiness', ...entry }));
}
