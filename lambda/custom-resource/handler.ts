/**
 * The one custom resource function of a stack: the ServiceToken of every
 * custom resource the library creates there. CloudFormation invokes it
 * asynchronously; it picks the handler by the request's ResourceType and
 * answers CloudFormation itself (see ./response).
 *
 * Runs outside the VPC: it calls AWS APIs (RDS, Lambda, EC2) and the pre-signed
 * S3 response URL, which the isolated subnets have no route to. The database
 * bootstrap, which must run in the VPC, is invoked through ./relay. Each
 * request is handled with the credentials of the resource's own role
 * (./assume-role).
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createRoleAssumer } from './assume-role';
import { RemainingTime } from './polling';
import { createRelay } from './relay';
import { answeringCloudFormation, CustomResourceHandler } from './response';
import { createEc2Api } from '../default-security-group/ec2-api';
import { createHandler as createDefaultSecurityGroup } from '../default-security-group/handler';
import { createHandler as createFunctionConcurrency } from '../function-concurrency/handler';
import { createLambdaApi } from '../function-concurrency/lambda-api';
import { createHandler as createProxyReadiness } from '../proxy-readiness/handler';

/** Builds the handler of one resource type for one request, its AWS clients using `credentials`. */
export type HandlerFactory = (credentials: AwsCredentialIdentityProvider) => CustomResourceHandler;

/** Handler factories by the ResourceType of the requests they handle. */
export type HandlersByResourceType = Readonly<Record<string, HandlerFactory>>;

/** The credentials a request is handled with (see ./assume-role). */
export type CredentialsOfRequest = (event: CloudFormationCustomResourceEvent) => AwsCredentialIdentityProvider;

export function createDispatcher(handlers: HandlersByResourceType, credentialsOf: CredentialsOfRequest): CustomResourceHandler {
  return async (event: CloudFormationCustomResourceEvent, context?: RemainingTime) => {
    const create = Object.prototype.hasOwnProperty.call(handlers, event.ResourceType) ? handlers[event.ResourceType] : undefined;
    if (create === undefined) {
      throw new Error(`no handler for resource type ${event.ResourceType}: this function handles ${Object.keys(handlers).join(', ')}`);
    }
    return create(credentialsOf(event))(event, context);
  };
}

/** The entry point: CloudFormation invokes it directly and gets its answer at the pre-signed URL. */
export const handler = answeringCloudFormation(createDispatcher({
  'Custom::ProxyTargetsAvailable': credentials => createProxyReadiness({ rds: new RDSClient({ credentials }) }),
  'Custom::FunctionConcurrency': credentials => createFunctionConcurrency({ lambda: createLambdaApi(new LambdaClient({ credentials })) }),
  'Custom::DatabaseBootstrap': credentials => createRelay({ lambda: new LambdaClient({ credentials }) }),
  'Custom::VpcRestrictDefaultSG': credentials => createDefaultSecurityGroup({ ec2: createEc2Api({ credentials }) }),
}, createRoleAssumer()));
