/**
 * The one custom resource function of a stack: the ServiceToken of every
 * custom resource the library creates there. CloudFormation invokes it
 * asynchronously; it picks the handler by the request's ResourceType and
 * answers CloudFormation itself (see ./response).
 *
 * Runs outside the VPC: it calls AWS APIs (RDS, Lambda) and the pre-signed
 * S3 response URL, which the isolated subnets have no route to. The database
 * bootstrap, which must run in the VPC, is invoked through ./relay.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { RemainingTime } from './polling';
import { createRelay } from './relay';
import { answeringCloudFormation, CustomResourceHandler } from './response';
import { createHandler as createFunctionConcurrency } from '../function-concurrency/handler';
import { createLambdaApi } from '../function-concurrency/lambda-api';
import { createHandler as createProxyReadiness } from '../proxy-readiness/handler';

/** Handlers by the ResourceType of the requests they handle. */
export type HandlersByResourceType = Readonly<Record<string, CustomResourceHandler>>;

export function createDispatcher(handlers: HandlersByResourceType): CustomResourceHandler {
  return (event: CloudFormationCustomResourceEvent, context?: RemainingTime) => {
    const handle = Object.prototype.hasOwnProperty.call(handlers, event.ResourceType) ? handlers[event.ResourceType] : undefined;
    if (handle === undefined) {
      return Promise.reject(new Error(`no handler for resource type ${event.ResourceType}: this function handles ${Object.keys(handlers).join(', ')}`));
    }
    return handle(event, context);
  };
}

const lambda = new LambdaClient({});

/** The entry point: CloudFormation invokes it directly and gets its answer at the pre-signed URL. */
export const handler = answeringCloudFormation(createDispatcher({
  'Custom::ProxyTargetsAvailable': createProxyReadiness({ rds: new RDSClient({}) }),
  'Custom::FunctionConcurrency': createFunctionConcurrency({ lambda: createLambdaApi(lambda) }),
  'Custom::DatabaseBootstrap': createRelay({ lambda }),
}));
