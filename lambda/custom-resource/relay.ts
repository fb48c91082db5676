/**
 * Relays a custom resource request to a handler in the VPC (the database
 * bootstrap), which cannot reach CloudFormation's pre-signed response URL
 * from isolated subnets: the request is invoked synchronously and the
 * handler's result, or its error, becomes the answer.
 *
 * ResourceProperties: { HandlerArn, ...the handler's own properties }.
 */
import { InvokeCommand, InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { CustomResourceResult } from './polling';
import { CustomResourceHandler } from './response';

/** The one Lambda call the relay makes; a `LambdaClient` satisfies it. */
export interface InvokeApi {
  send(command: InvokeCommand): Promise<InvokeCommandOutput>;
}

export interface RelayOptions {
  readonly lambda: InvokeApi;
}

export function createRelay(options: RelayOptions): CustomResourceHandler {
  return async (event: CloudFormationCustomResourceEvent): Promise<CustomResourceResult> => {
    const functionArn = event.ResourceProperties.HandlerArn;
    if (typeof functionArn !== 'string' || functionArn === '') {
      throw new Error(`${event.ResourceType}: resource property HandlerArn is missing`);
    }
    // The answer is the relay's to give: the handler gets the request without the URL that answers it.
    const request = JSON.stringify({ ...event, ResponseURL: undefined });
    const output = await options.lambda.send(new InvokeCommand({
      FunctionName: functionArn,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(request),
    }));
    const payload = parsePayload(output.Payload);
    if (output.FunctionError !== undefined) {
      const { errorMessage, errorType } = (payload ?? {}) as { errorMessage?: unknown; errorType?: unknown };
      throw new Error(typeof errorMessage === 'string' && errorMessage !== ''
        ? errorMessage
        : `${functionArn} failed (${String(errorType ?? output.FunctionError)}) without an error message`);
    }
    return resultOf(functionArn, payload);
  };
}

function parsePayload(payload: Uint8Array | undefined): unknown {
  const text = payload === undefined ? '' : new TextDecoder().decode(payload);
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return text;
  }
}

function resultOf(functionArn: string, payload: unknown): CustomResourceResult {
  const { PhysicalResourceId: physicalResourceId, Data: data } = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  const isStrings = (value: unknown): value is Record<string, string> => typeof value === 'object' && value !== null
    && Object.values(value).every(entry => typeof entry === 'string');
  if (typeof physicalResourceId !== 'string' || physicalResourceId === '' || (data !== undefined && !isStrings(data))) {
    throw new Error(`${functionArn} returned ${JSON.stringify(payload) ?? 'nothing'}, not a PhysicalResourceId with string Data`);
  }
  return data === undefined ? { PhysicalResourceId: physicalResourceId } : { PhysicalResourceId: physicalResourceId, Data: data };
}
