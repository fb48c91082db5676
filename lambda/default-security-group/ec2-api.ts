/**
 * The four EC2 calls the default security group handler makes, as EC2 Query
 * API requests signed with Signature Version 4 and sent with `fetch`. AWS's
 * EC2 client would do the same, but its model of the whole EC2 API would
 * multiply the size of the stack's custom resource function, which every
 * other resource type loads too.
 */
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export type Ec2Action = 'AuthorizeSecurityGroupIngress' | 'AuthorizeSecurityGroupEgress' | 'RevokeSecurityGroupIngress' | 'RevokeSecurityGroupEgress';

/** An EC2 Query API call; EC2's refusal rejects with an Error whose name is EC2's error code. */
export type Ec2Api = (action: Ec2Action, parameters: Record<string, string>) => Promise<void>;

export interface Ec2ApiOptions {
  readonly credentials: AwsCredentialIdentityProvider;
  /** @default AWS_REGION, which Lambda sets */
  readonly region?: string;
  /**
   * @default AWS_ENDPOINT_URL_EC2 when set (the AWS SDKs' override), else
   * https://ec2.<region>.<the partition's DNS suffix>/
   */
  readonly endpoint?: string;
  /**
   * How long one request may take: EC2 answers these calls in well under a
   * second, and a request that hangs must fail long before the function's
   * 15-minute timeout.
   * @default 10 s
   */
  readonly timeoutMillis?: number;
  /**
   * Waits before each new attempt after throttling, a server error or a
   * request that got no answer. Every call the handler makes may be repeated:
   * a revoke that already happened answers InvalidPermission.NotFound, an
   * authorize InvalidPermission.Duplicate, and the handler accepts both.
   * @default 1 s and 3 s (three attempts in all, like the AWS SDKs)
   */
  readonly retryDelaysMillis?: readonly number[];
}

/** The EC2 API version the Query API parameters here belong to. */
const API_VERSION = '2016-11-15';

/** Error codes EC2 may answer a valid request with for a passing reason. */
const RETRYABLE_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'InternalError', 'Unavailable', 'ServiceUnavailable']);

/**
 * DNS suffixes of the partitions that do not use amazonaws.com, by their
 * Regions' names, as the AWS SDKs resolve them (@aws-sdk/core's partitions).
 */
const PARTITION_DNS_SUFFIXES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^cn-\w+-\d+$/, 'amazonaws.com.cn'],
  [/^eusc-de-\w+-\d+$/, 'amazonaws.eu'],
  [/^us-iso-\w+-\d+$/, 'c2s.ic.gov'],
  [/^us-isob-\w+-\d+$/, 'sc2s.sgov.gov'],
  [/^eu-isoe-\w+-\d+$/, 'cloud.adc-e.uk'],
  [/^us-isof-\w+-\d+$/, 'csp.hci.ic.gov'],
];

export function ec2Endpoint(region: string): string {
  const suffix = PARTITION_DNS_SUFFIXES.find(([regions]) => regions.test(region))?.[1] ?? 'amazonaws.com';
  return `https://ec2.${region}.${suffix}/`;
}

export function createEc2Api(options: Ec2ApiOptions): Ec2Api {
  const region = options.region ?? process.env.AWS_REGION;
  if (!region) {
    throw new Error('EC2: no Region: AWS_REGION is not set');
  }
  const endpoint = new URL(options.endpoint ?? process.env.AWS_ENDPOINT_URL_EC2 ?? ec2Endpoint(region));
  const timeoutMillis = options.timeoutMillis ?? 10_000;
  const retryDelays = options.retryDelaysMillis ?? [1_000, 3_000];
  const signer = new SignatureV4({ service: 'ec2', region, credentials: keptUntilExpiry(options.credentials), sha256: Sha256 });

  async function send(action: Ec2Action, parameters: Record<string, string>): Promise<void> {
    const body = new URLSearchParams({ Action: action, Version: API_VERSION, ...parameters }).toString();
    const signed = await signer.sign(new HttpRequest({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port === '' ? undefined : Number(endpoint.port),
      path: endpoint.pathname,
      headers: { 'host': endpoint.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    }));
    let response: Response;
    let text: string;
    try {
      response = await fetch(endpoint, { method: 'POST', headers: signed.headers, body, signal: AbortSignal.timeout(timeoutMillis) });
      text = await response.text();
    } catch (error) {
      // fetch reports a refused connection or an unknown host as 'fetch failed', with the reason in its cause.
      const { name, message, cause } = error as Error & { cause?: Error };
      const reason = name === 'TimeoutError' ? `no answer within ${timeoutMillis / 1000} s` : cause?.message ?? message;
      throw ec2Error('RequestFailed', `${action} could not reach ${endpoint.host}: ${reason}`, true);
    }
    if (!response.ok) {
      const code = xmlElement(text, 'Code') ?? `HTTP${response.status}`;
      throw ec2Error(code, `${action}: ${xmlElement(text, 'Message') ?? text.slice(0, 500)}`, response.status >= 500 || RETRYABLE_CODES.has(code));
    }
  }

  return async (action, parameters) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send(action, parameters);
      } catch (error) {
        if (!(error as RetryableError).retryable || attempt >= retryDelays.length) {
          throw error;
        }
        await new Promise(resolve => setTimeout(resolve, retryDelays[attempt]));
      }
    }
  };
}

/** How long before they expire credentials are renewed, as AWS's clients renew them. */
const CREDENTIALS_RENEWAL_MILLIS = 5 * 60_000;

/** The provider's credentials, kept until shortly before they expire: the signer asks for them at each request, which would assume the role each time. */
function keptUntilExpiry(provider: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  let kept: AwsCredentialIdentity | undefined;
  return async () => {
    if (kept === undefined || (kept.expiration !== undefined && kept.expiration.getTime() - Date.now() < CREDENTIALS_RENEWAL_MILLIS)) {
      kept = await provider();
    }
    return kept;
  };
}

interface RetryableError extends Error {
  readonly retryable: boolean;
}

function ec2Error(code: string, message: string, retryable: boolean): RetryableError {
  return Object.assign(new Error(message), { name: code, retryable });
}

/** The text of the first `<name>` element of an EC2 answer (`<Response><Errors><Error><Code>...`). */
function xmlElement(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match === null ? undefined : match[1]
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, '\'').replace(/&amp;/g, '&');
}
