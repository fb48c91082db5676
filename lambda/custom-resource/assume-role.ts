/**
 * The credentials the stack's custom resource function uses for one request:
 * those of the resource's own role (ResourceProperties.PermissionsRoleArn),
 * whose trust policy names the function's role and whose policy holds what
 * that resource alone needs. The function's role has no permissions of its
 * own beyond its logs, so one function serves any number of resources
 * without a policy per resource on its role.
 */
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

/** The STS client settings the function changes: the tests point it at a local endpoint. */
export interface StsClientConfig {
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: AwsCredentialIdentity;
  readonly maxAttempts?: number;
}

export interface AssumeRoleOptions {
  /** @default the Lambda environment's Region and credentials */
  readonly clientConfig?: StsClientConfig;
  /**
   * Waits before each new AssumeRole after STS denies it: CloudFormation
   * creates the role and its policy just before the resource, and IAM may
   * take a few seconds to let the new role be assumed.
   * @default 1, 2, 4, 8 and 15 s (30 s in all)
   */
  readonly retryDelaysMillis?: readonly number[];
}

const RETRY_DELAYS_MILLIS = [1_000, 2_000, 4_000, 8_000, 15_000];

/** IAM's limit on a role session name, and the characters it allows. */
const SESSION_NAME_MAX_CHARS = 64;
const SESSION_NAME_FORBIDDEN = /[^\w+=,.@-]/g;

/** Assumes the role named by each request's PermissionsRoleArn. */
export function createRoleAssumer(options: AssumeRoleOptions = {}): (event: CloudFormationCustomResourceEvent) => AwsCredentialIdentityProvider {
  const delays = options.retryDelaysMillis ?? RETRY_DELAYS_MILLIS;
  return event => {
    const roleArn = event.ResourceProperties.PermissionsRoleArn;
    if (typeof roleArn !== 'string' || roleArn === '') {
      throw new Error(`${event.ResourceType}: resource property PermissionsRoleArn is missing`);
    }
    const assume = fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: sessionName(event) },
      clientConfig: options.clientConfig,
    });
    return async properties => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await assume(properties);
        } catch (error) {
          if ((error as Error).name !== 'AccessDenied' || attempt >= delays.length) {
            throw error;
          }
          await new Promise(resolve => setTimeout(resolve, delays[attempt]));
        }
      }
    };
  };
}

/** The resource's logical id names the session in CloudTrail. */
function sessionName(event: CloudFormationCustomResourceEvent): string {
  return `cr-${event.LogicalResourceId}`.replace(SESSION_NAME_FORBIDDEN, '').slice(0, SESSION_NAME_MAX_CHARS);
}
