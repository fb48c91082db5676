import type { Context } from 'aws-lambda';

let invocationCount = 0;

/** A Lambda context for one invocation of `functionName`, with a fresh request id unless one is given. */
export function lambdaContext(functionName: string, options: { awsRequestId?: string; timeoutMillis?: number } = {}): Context {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: options.awsRequestId ?? `lambda-${++invocationCount}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => options.timeoutMillis ?? 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
