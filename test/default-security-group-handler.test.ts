/**
 * The default security group handler against a local HTTP server that
 * answers like the EC2 Query API (XML errors included): the form bodies of
 * each request type, the Signature Version 4 signature with the resource
 * role's credentials, the errors that mean "already so", retries and the
 * request timeout. Then the pre-bundled custom resource function, given a
 * Custom::VpcRestrictDefaultSG request in a process of its own that has only
 * Lambda's environment, reaching that server for STS and EC2.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createEc2Api, ec2Endpoint } from '../lambda/default-security-group/ec2-api';
import { createHandler } from '../lambda/default-security-group/handler';
import { runIsolated } from './support/isolated-node';
import { LocalApi } from './support/local-aws-api';
import { PROJECT_ROOT } from './support/local-server';

const GROUP = 'sg-0123456789abcdef0';
const ACCOUNT = '123456789012';
const ROLE = 'arn:aws:iam::123456789012:role/Orders-NetworkVpcRestrictDefaultSecurityGroupCustomResourceRole-abc';
const ASSUMED = { accessKeyId: 'ASIAASSUMEDROLE', secretAccessKey: 'assumed-secret', sessionToken: 'assumed-session-token' };
const BUNDLED_HANDLER = path.join(PROJECT_ROOT, 'dist', 'handlers', 'custom-resource', 'index.js');

interface Ec2Request {
  readonly url: string;
  readonly body: string;
  readonly params: Record<string, string>;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly securityToken: string | undefined;
  readonly host: string | undefined;
  readonly amzDate: string | undefined;
}

/** An answer of the script: 200 with EC2's success document, an EC2 error code with its status, or no answer at all. */
type Ec2Answer = 'ok' | 'hang' | { readonly status: number; readonly code: string; readonly message: string };

/** EC2 (and STS on the same endpoint, for the bundled function): records each request and answers with the next answer of the script. */
class Ec2Api extends LocalApi {
  readonly requests: Ec2Request[] = [];

  constructor(private readonly answers: Ec2Answer[] = []) {
    super();
  }

  /** The Action and parameters of each EC2 request, in order. */
  get calls(): Record<string, string>[] {
    return this.requests.map(request => request.params).filter(params => params.Action !== undefined && params.Action !== 'AssumeRole');
  }

  protected answer(request: http.IncomingMessage, raw: Buffer, response: http.ServerResponse): void {
    const params = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    this.requests.push({
      url: request.url!,
      body: raw.toString('utf8'),
      params,
      contentType: request.headers['content-type'],
      authorization: request.headers.authorization,
      securityToken: request.headers['x-amz-security-token'] as string | undefined,
      host: request.headers.host,
      amzDate: request.headers['x-amz-date'] as string | undefined,
    });
    if (params.Action === 'AssumeRole') {
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${ASSUMED.accessKeyId}</AccessKeyId>`
        + `<SecretAccessKey>${ASSUMED.secretAccessKey}</SecretAccessKey><SessionToken>${ASSUMED.sessionToken}</SessionToken>`
        + `<Expiration>${new Date(Date.now() + 3_600_000).toISOString()}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`);
      return;
    }
    if (params.Action === undefined) {
      // CloudFormation's response URL, on the same server for the bundled function.
      response.end();
      return;
    }
    const answer = this.answers.shift() ?? 'ok';
    if (answer === 'hang') {
      return;
    }
    response.writeHead(answer === 'ok' ? 200 : answer.status, { 'content-type': 'text/xml;charset=UTF-8' });
    response.end(answer === 'ok'
      ? `<${params.Action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><return>true</return></${params.Action}Response>`
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${answer.code}</Code><Message>${answer.message}</Message></Error></Errors>`
        + '<RequestID>req-2</RequestID></Response>');
  }
}

/** The signature EC2 would compute for what arrived, with the assumed role's secret: equal to the one sent only if nothing signed changed on the way. */
async function expectedSignature(request: Ec2Request): Promise<string | undefined> {
  const [, year, month, day, hour, minute, second] = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(request.amzDate ?? '') ?? [];
  const [hostname, port] = (request.host ?? '').split(':');
  const signed = await new SignatureV4({ service: 'ec2', region: 'eu-west-1', credentials: ASSUMED, sha256: Sha256 }).sign(new HttpRequest({
    method: 'POST', protocol: 'http:', hostname, port: Number(port), path: request.url,
    headers: { 'host': request.host!, 'content-type': request.contentType! },
    body: request.body,
  }), { signingDate: new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`) });
  return signed.headers.authorization;
}

const notFound: Ec2Answer = {
  status: 400,
  code: 'InvalidPermission.NotFound',
  message: 'The specified rule does not exist in this security group.',
};
const duplicate: Ec2Answer = {
  status: 400,
  code: 'InvalidPermission.Duplicate',
  message: `the specified rule &quot;peer: ${GROUP}, ALL, ALLOW&quot; already exists`,
};

const egress = (action: string, groupId = GROUP) => ({
  'Action': action, 'Version': '2016-11-15', 'GroupId': groupId, 'IpPermissions.1.IpProtocol': '-1', 'IpPermissions.1.IpRanges.1.CidrIp': '0.0.0.0/0',
});
const ingress = (action: string, groupId = GROUP) => ({
  'Action': action, 'Version': '2016-11-15', 'GroupId': groupId, 'IpPermissions.1.IpProtocol': '-1',
  'IpPermissions.1.Groups.1.GroupId': groupId, 'IpPermissions.1.Groups.1.UserId': ACCOUNT,
});

function event(request: Partial<CloudFormationCustomResourceEvent> = {}, properties: Record<string, unknown> = {}): CloudFormationCustomResourceEvent {
  return {
    RequestType: 'Create',
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:handler',
    ResponseURL: 'http://127.0.0.1:1/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/Orders/1',
    RequestId: 'request-1',
    LogicalResourceId: 'NetworkVpcRestrictDefaultSecurityGroupCustomResource',
    ResourceType: 'Custom::VpcRestrictDefaultSG',
    ResourceProperties: { ServiceToken: 'token', DefaultSecurityGroupId: GROUP, Account: ACCOUNT, PermissionsRoleArn: ROLE, ...properties },
    ...request,
  } as CloudFormationCustomResourceEvent;
}

describe('createHandler with the EC2 Query API', () => {
  let ec2: Ec2Api;
  beforeEach(() => jest.spyOn(console, 'log').mockImplementation(() => undefined));
  afterEach(async () => {
    jest.restoreAllMocks();
    await ec2.stop();
  });

  /** Handles `request` with EC2 answering `answers`. */
  async function handle(answers: Ec2Answer[], request: CloudFormationCustomResourceEvent, options: { timeoutMillis?: number; retryDelaysMillis?: number[] } = {}) {
    ec2 = new Ec2Api(answers);
    const api = createEc2Api({ credentials: async () => ASSUMED, region: 'eu-west-1', endpoint: await ec2.endpoint(), retryDelaysMillis: [0, 0], ...options });
    return createHandler({ ec2: api })(request);
  }

  test('Create revokes the default egress rule, then the ingress rule from the group itself, and names the group in its physical id', async () => {
    await expect(handle([], event())).resolves.toEqual({ PhysicalResourceId: `default-security-group:${GROUP}` });

    expect(ec2.calls).toEqual([egress('RevokeSecurityGroupEgress'), ingress('RevokeSecurityGroupIngress')]);
    for (const request of ec2.requests) {
      expect(request.url).toBe('/');
      expect(request.contentType).toBe('application/x-www-form-urlencoded; charset=utf-8');
      expect(request.authorization).toMatch(new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${ASSUMED.accessKeyId}/\\d{8}/eu-west-1/ec2/aws4_request, SignedHeaders=[a-z0-9;-]*host;[a-z0-9;-]*x-amz-security-token[a-z0-9;-]*, Signature=[0-9a-f]{64}$`));
      expect(request.securityToken).toBe(ASSUMED.sessionToken);
      expect(request.authorization).toBe(await expectedSignature(request));
    }
  });

  test('Create succeeds when EC2 answers InvalidPermission.NotFound: the rules are already gone', async () => {
    await expect(handle([notFound, notFound], event())).resolves.toEqual({ PhysicalResourceId: `default-security-group:${GROUP}` });

    expect(ec2.calls).toEqual([egress('RevokeSecurityGroupEgress'), ingress('RevokeSecurityGroupIngress')]);
  });

  test('Create fails with EC2\'s code and message for any other error, making no further call', async () => {
    const denied: Ec2Answer = { status: 403, code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' };

    await expect(handle([denied], event())).rejects.toThrow(
      `${GROUP}: EC2 refused RevokeSecurityGroupEgress: UnauthorizedOperation: RevokeSecurityGroupEgress: You are not authorized to perform this operation.`);

    expect(ec2.calls).toHaveLength(1);
  });

  test('Update with the same group makes no call and keeps the physical id', async () => {
    const update = event({ RequestType: 'Update', PhysicalResourceId: `default-security-group:${GROUP}`, OldResourceProperties: { DefaultSecurityGroupId: GROUP, Account: ACCOUNT } } as never);

    await expect(handle([], update)).resolves.toEqual({ PhysicalResourceId: `default-security-group:${GROUP}` });

    expect(ec2.requests).toEqual([]);
  });

  test('Update to a new group closes it under a new physical id, leaving the old group to the Delete CloudFormation sends for the old id', async () => {
    const newGroup = 'sg-0fedcba9876543210';
    const update = event({ RequestType: 'Update', PhysicalResourceId: `default-security-group:${GROUP}`, OldResourceProperties: { DefaultSecurityGroupId: GROUP, Account: ACCOUNT } } as never,
      { DefaultSecurityGroupId: newGroup });

    await expect(handle([], update)).resolves.toEqual({ PhysicalResourceId: `default-security-group:${newGroup}` });

    expect(ec2.calls).toEqual([egress('RevokeSecurityGroupEgress', newGroup), ingress('RevokeSecurityGroupIngress', newGroup)]);
  });

  test('Delete authorizes the ingress rule from the group itself, then the egress rule, and keeps the physical id', async () => {
    const deletion = event({ RequestType: 'Delete', PhysicalResourceId: `default-security-group:${GROUP}` } as never);

    await expect(handle([], deletion)).resolves.toEqual({ PhysicalResourceId: `default-security-group:${GROUP}` });

    expect(ec2.calls).toEqual([ingress('AuthorizeSecurityGroupIngress'), egress('AuthorizeSecurityGroupEgress')]);
  });

  test('Delete succeeds when the rules are already back (InvalidPermission.Duplicate), so a repeated Delete succeeds', async () => {
    const deletion = event({ RequestType: 'Delete', PhysicalResourceId: `default-security-group:${GROUP}` } as never);

    await expect(handle([duplicate, duplicate], deletion)).resolves.toEqual({ PhysicalResourceId: `default-security-group:${GROUP}` });

    expect(ec2.calls).toHaveLength(2);
  });

  test('Delete succeeds when the group is gone with its VPC (InvalidGroup.NotFound): there are no rules to restore', async () => {
    const gone: Ec2Answer = { status: 400, code: 'InvalidGroup.NotFound', message: `The security group '${GROUP}' does not exist` };
    const deletion = event({ RequestType: 'Delete', PhysicalResourceId: `default-security-group:${GROUP}` } as never);

    await expect(handle([gone, gone], deletion)).resolves.toEqual({ PhysicalResourceId: `default-security-group:${GROUP}` });
  });

  test('Delete fails with EC2\'s code and its decoded message when the rule cannot be added', async () => {
    const limit: Ec2Answer = { status: 400, code: 'RulesPerSecurityGroupLimitExceeded', message: 'The maximum number of rules per security group &amp; direction has been reached.' };
    const deletion = event({ RequestType: 'Delete', PhysicalResourceId: `default-security-group:${GROUP}` } as never);

    await expect(handle([limit], deletion)).rejects.toThrow(`${GROUP}: EC2 refused AuthorizeSecurityGroupIngress: RulesPerSecurityGroupLimitExceeded: `
      + 'AuthorizeSecurityGroupIngress: The maximum number of rules per security group & direction has been reached.');
  });

  test('a throttled request is sent again and succeeds', async () => {
    const throttled: Ec2Answer = { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' };

    await expect(handle([throttled, throttled], event())).resolves.toEqual({ PhysicalResourceId: `default-security-group:${GROUP}` });

    expect(ec2.calls).toEqual([egress('RevokeSecurityGroupEgress'), egress('RevokeSecurityGroupEgress'), egress('RevokeSecurityGroupEgress'), ingress('RevokeSecurityGroupIngress')]);
  });

  test('throttling past three attempts fails with RequestLimitExceeded', async () => {
    const throttled: Ec2Answer = { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' };

    await expect(handle([throttled, throttled, throttled], event())).rejects.toThrow(
      `${GROUP}: EC2 refused RevokeSecurityGroupEgress: RequestLimitExceeded: RevokeSecurityGroupEgress: Request limit exceeded.`);

    expect(ec2.calls).toHaveLength(3);
  });

  test('a request EC2 does not answer fails after the request timeout instead of waiting for the function\'s', async () => {
    const started = Date.now();

    await expect(handle(['hang'], event(), { timeoutMillis: 300, retryDelaysMillis: [] })).rejects.toThrow(
      `${GROUP}: EC2 refused RevokeSecurityGroupEgress: RequestFailed: RevokeSecurityGroupEgress could not reach 127.0.0.1:`);

    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test("a request that cannot connect fails with the connection's error", async () => {
    ec2 = new Ec2Api();
    const closed = await ec2.endpoint();
    await ec2.stop();
    const api = createEc2Api({ credentials: async () => ASSUMED, region: 'eu-west-1', endpoint: closed, retryDelaysMillis: [0, 0] });

    await expect(createHandler({ ec2: api })(event())).rejects.toThrow(
      new RegExp(`^${GROUP}: EC2 refused RevokeSecurityGroupEgress: RequestFailed: RevokeSecurityGroupEgress could not reach 127\\.0\\.0\\.1:\\d+: connect ECONNREFUSED`));
  });

  test('fails naming the missing properties without calling EC2', async () => {
    await expect(handle([], event({}, { DefaultSecurityGroupId: '', Account: undefined }))).rejects.toThrow(
      'default security group: missing resource properties: DefaultSecurityGroupId, Account');

    expect(ec2.requests).toEqual([]);
  });
});

test.each([
  ['eu-west-1', 'https://ec2.eu-west-1.amazonaws.com/'],
  ['us-gov-west-1', 'https://ec2.us-gov-west-1.amazonaws.com/'],
  ['cn-north-1', 'https://ec2.cn-north-1.amazonaws.com.cn/'],
  ['cn-northwest-1', 'https://ec2.cn-northwest-1.amazonaws.com.cn/'],
  ['eusc-de-east-1', 'https://ec2.eusc-de-east-1.amazonaws.eu/'],
  ['us-iso-east-1', 'https://ec2.us-iso-east-1.c2s.ic.gov/'],
  ['us-isob-east-1', 'https://ec2.us-isob-east-1.sc2s.sgov.gov/'],
])('the EC2 endpoint of %s is %s', (region, endpoint) => {
  expect(ec2Endpoint(region)).toBe(endpoint);
});

describe('the pre-bundled custom resource function', () => {
  let server: Ec2Api;
  beforeAll(() => {
    if (!fs.existsSync(BUNDLED_HANDLER)) {
      throw new Error(`${BUNDLED_HANDLER} is missing: run 'npm run build:handlers' first`);
    }
  });
  afterEach(() => server.stop());

  test('routes Custom::VpcRestrictDefaultSG to the default security group handler, calling EC2 as the resource\'s role, and answers CloudFormation', async () => {
    server = new Ec2Api();
    const endpoint = await server.endpoint();
    const request = event({ ResponseURL: `${endpoint}/cloudformation-response?X-Amz-Signature=abc` });
    const environment = {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDFUNCTIONROLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_SESSION_TOKEN: 'function-session-token',
      // The AWS SDKs' endpoint overrides, standing in for the Region's STS and EC2 endpoints.
      AWS_ENDPOINT_URL_STS: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
    };

    const { error } = await runIsolated(BUNDLED_HANDLER, `module.handler(${JSON.stringify(request)}, { getRemainingTimeInMillis: () => 60000 })`, environment);

    expect(error).toBeUndefined();
    expect(server.requests.map(({ url, params }) => ({ url, action: params.Action }))).toEqual([
      { url: '/', action: 'AssumeRole' },
      { url: '/', action: 'RevokeSecurityGroupEgress' },
      { url: '/', action: 'RevokeSecurityGroupIngress' },
      { url: '/cloudformation-response?X-Amz-Signature=abc', action: undefined },
    ]);
    expect(server.requests[0].params).toMatchObject({ RoleArn: ROLE });
    expect(server.calls).toEqual([egress('RevokeSecurityGroupEgress'), ingress('RevokeSecurityGroupIngress')]);
    expect(server.requests[1].authorization).toContain(`Credential=${ASSUMED.accessKeyId}/`);
    expect(JSON.parse(server.requests[3].body)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `default-security-group:${GROUP}` });
  });
});
