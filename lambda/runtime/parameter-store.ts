/**
 * The Parameter Store reader of appParameters(): the SSM client, in a file
 * of its own that parameters.ts loads on first use (see ParameterStoreReader).
 * `npm run build:handlers` bundles it with the client into
 * dist/runtime/parameter-store.js, which DatabaseFunction copies next to the
 * handler's bundle.
 */
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ParameterStoreReader } from './parameters';

/**
 * A new connection to Parameter Store opens in milliseconds within a Region
 * (or through an interface endpoint); one that takes a second has no route,
 * and the SDK would otherwise wait for the operating system's TCP timeout.
 */
const CONNECTION_TIMEOUT_MILLIS = 1000;

let client: SSMClient | undefined;
/** Where the latest request went, as the SDK resolved it (AWS_ENDPOINT_URL_SSM, FIPS, dual-stack or the Region's default). */
let requestedEndpoint: string | undefined;

function ssm(): SSMClient {
  if (client) return client;
  client = new SSMClient({ requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MILLIS } });
  client.middlewareStack.add(next => async args => {
    const { protocol, hostname, port } = args.request as { protocol?: string; hostname?: string; port?: number };
    requestedEndpoint = `${protocol}//${hostname}${port ? `:${port}` : ''}`;
    return next(args);
  }, { step: 'finalizeRequest', name: 'recordRequestedEndpoint' });
  return client;
}

export const readParametersByPath: ParameterStoreReader['readParametersByPath'] = async (path, signal) => {
  const prefix = path === '/' ? '/' : `${path}/`;
  const values: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const page = await ssm().send(
      new GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: false, NextToken: nextToken }),
      { abortSignal: signal },
    );
    for (const { Name: name, Value: value } of page.Parameters ?? []) {
      if (name !== undefined && value !== undefined) values[name.startsWith(prefix) ? name.slice(prefix.length) : name] = value;
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return values;
};

export const endpointUrl: ParameterStoreReader['endpointUrl'] = async () => {
  if (requestedEndpoint) return requestedEndpoint;
  const { endpointProvider, region, useDualstackEndpoint, useFipsEndpoint } = ssm().config;
  const { url } = endpointProvider({ Region: await region(), UseDualStack: await useDualstackEndpoint(), UseFIPS: await useFipsEndpoint() });
  return url.href.replace(/\/$/, '');
};
