/**
 * The Parameter Store reader of appParameters(): the SSM client, in a file
 * of its own that parameters.ts loads on first use (see ParameterStoreReader).
 * `npm run build:runtime` bundles it with the client into
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

function ssm(): SSMClient {
  client ??= new SSMClient({ requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MILLIS } });
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
  const { endpoint, endpointProvider, region, useDualstackEndpoint, useFipsEndpoint } = ssm().config;
  if (endpoint) {
    const { protocol, hostname, port, path } = await endpoint();
    return `${protocol}//${hostname}${port ? `:${port}` : ''}${path === '/' ? '' : path}`;
  }
  const { url } = endpointProvider({ Region: await region(), UseDualStack: await useDualstackEndpoint(), UseFIPS: await useFipsEndpoint() });
  return url.href.replace(/\/$/, '');
};
