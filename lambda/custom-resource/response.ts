/**
 * A custom resource handler that answers CloudFormation itself: the
 * function is the resource's ServiceToken, CloudFormation invokes it
 * asynchronously with a pre-signed S3 URL, and the answer is a PUT of a JSON
 * document to that URL. Every request gets an answer: SUCCESS with the
 * handler's result, FAILED with its error, and FAILED shortly before the
 * Lambda deadline when the handler is still running, so a deployment never
 * waits for CloudFormation's one-hour custom resource timeout.
 */
import * as http from 'http';
import * as https from 'https';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { CustomResourceResult, RemainingTime } from './polling';

/** CloudFormation rejects a response body larger than this. */
export const RESPONSE_MAX_BYTES = 4_096;

/**
 * The physical id a FAILED Create reports: CloudFormation then sends a
 * Delete with it, which has nothing to delete and is answered SUCCESS
 * without running the handler.
 */
export const CREATE_FAILED_PREFIX = 'create-failed:';

export type CustomResourceHandler = (event: CloudFormationCustomResourceEvent, context?: RemainingTime) => Promise<CustomResourceResult>;

/** The part of the Lambda context the answer uses. */
export interface AnswerContext extends RemainingTime {
  readonly logStreamName?: string;
}

export interface AnswerOptions {
  /**
   * When a handler still runs this long before the Lambda deadline, the
   * request is answered FAILED: the time left is for the PUT.
   * @default 10 s
   */
  readonly answerMarginMillis?: number;
  /** Waits between attempts of the PUT; the invocation fails after the last one. @default 1 s, 3 s */
  readonly retryDelaysMillis?: readonly number[];
  /** @default a setTimeout-based sleep */
  readonly sleep?: (millis: number) => Promise<void>;
}

export function answeringCloudFormation(handle: CustomResourceHandler, options: AnswerOptions = {}) {
  const answerMarginMillis = options.answerMarginMillis ?? 10_000;
  const retryDelays = options.retryDelaysMillis ?? [1_000, 3_000];
  const sleep = options.sleep ?? ((millis: number) => new Promise<void>(resolve => setTimeout(resolve, millis)));

  return async (event: CloudFormationCustomResourceEvent, context?: AnswerContext): Promise<void> => {
    const response = await outcome(handle, event, context, answerMarginMillis);
    const body = responseBody(response, context?.logStreamName);
    log({ answer: response.Status, request: event.RequestType, logicalResourceId: event.LogicalResourceId, physicalResourceId: response.PhysicalResourceId, reason: response.Reason });
    for (let attempt = 0; ; attempt++) {
      try {
        await put(event.ResponseURL, body);
        return;
      } catch (error) {
        // An invocation that fails is retried by Lambda (twice), which runs the request again and answers then.
        if (attempt >= retryDelays.length) throw error;
        log({ answer: 'retry', attempt: attempt + 1, error: messageOf(error) });
        await sleep(retryDelays[attempt]);
      }
    }
  };
}

async function outcome(handle: CustomResourceHandler, event: CloudFormationCustomResourceEvent, context: AnswerContext | undefined,
  answerMarginMillis: number): Promise<CloudFormationCustomResourceResponse> {
  const answer = (status: 'SUCCESS' | 'FAILED', physicalResourceId: string, extra: { Reason?: string; Data?: Record<string, string> } = {}) => ({
    Status: status,
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...extra,
  }) as CloudFormationCustomResourceResponse;
  // The physical id CloudFormation knows: the resource's for Update and Delete, a marker for a Create that failed.
  const knownId = event.RequestType === 'Create' ? `${CREATE_FAILED_PREFIX}${event.RequestId}` : event.PhysicalResourceId;

  if (event.RequestType === 'Delete' && event.PhysicalResourceId.startsWith(CREATE_FAILED_PREFIX)) {
    return answer('SUCCESS', event.PhysicalResourceId);
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<CloudFormationCustomResourceResponse>(resolve => {
    if (context) {
      const waitMillis = Math.max(0, context.getRemainingTimeInMillis() - answerMarginMillis);
      timer = setTimeout(() => resolve(answer('FAILED', knownId, {
        Reason: `${event.RequestType} did not finish ${Math.round(answerMarginMillis / 1000)} s before the handler's Lambda timeout`,
      })), waitMillis);
    }
  });
  const handled = handle(event, context).then(
    result => answer('SUCCESS', result.PhysicalResourceId, result.Data ? { Data: result.Data } : {}),
    error => answer('FAILED', knownId, { Reason: messageOf(error) }),
  );
  try {
    const response = await Promise.race([handled, deadline]);
    if (response.Status === 'SUCCESS' && bytesOf(JSON.stringify(response)) > RESPONSE_MAX_BYTES) {
      return answer('FAILED', knownId, { Reason: `the handler's result is larger than the ${RESPONSE_MAX_BYTES} bytes CloudFormation accepts` });
    }
    return response;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The JSON body, within CloudFormation's size limit: the reason (with the log
 * stream to read) is cut to what the rest leaves.
 */
function responseBody(response: CloudFormationCustomResourceResponse, logStreamName?: string): string {
  if (response.Reason === undefined) {
    return JSON.stringify(response);
  }
  const reason = logStreamName ? `${response.Reason} (log stream ${logStreamName})` : response.Reason;
  const room = RESPONSE_MAX_BYTES - bytesOf(JSON.stringify({ ...response, Reason: '' }));
  const fits = (text: string) => bytesOf(JSON.stringify(text)) - 2 <= room;
  if (fits(reason)) {
    return JSON.stringify({ ...response, Reason: reason });
  }
  // The longest prefix (in characters, so no character is split) that fits with the ellipsis.
  const characters = [...reason];
  let low = 0;
  let high = characters.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(`${characters.slice(0, middle).join('')}…`)) low = middle; else high = middle - 1;
  }
  return JSON.stringify({ ...response, Reason: `${characters.slice(0, low).join('')}…` });
}

/** PUT the body to the pre-signed URL, with no content type (the signature covers none). */
function put(url: string, body: string): Promise<void> {
  const target = new URL(url);
  const send = target.protocol === 'http:' ? http.request : https.request;
  return new Promise((resolve, reject) => {
    const request = send(target, { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, answer => {
      answer.resume();
      answer.on('end', () => (answer.statusCode ?? 0) < 300
        ? resolve()
        : reject(new Error(`the response URL answered HTTP ${answer.statusCode}`)));
    });
    request.on('timeout', () => request.destroy(new Error('the response URL did not answer within 10 s')));
    request.on('error', reject);
    request.end(body);
  });
}

function bytesOf(text: string): number {
  return Buffer.byteLength(text);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify({ handler: 'custom-resource-answer', ...entry }));
}
