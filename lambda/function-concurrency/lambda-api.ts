/**
 * The six Lambda API calls the function concurrency handler makes, through
 * AWS's Lambda client: it signs the requests, resolves the endpoint of the
 * Region and partition (FIPS or dual-stack when AWS_USE_FIPS_ENDPOINT or
 * AWS_USE_DUALSTACK_ENDPOINT asks for it), and retries throttling and
 * service errors with backoff.
 */
import {
  DeleteFunctionConcurrencyCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetFunctionConcurrencyCommand,
  GetProvisionedConcurrencyConfigCommand,
  LambdaClient,
  ProvisionedConcurrencyConfigNotFoundException,
  PutFunctionConcurrencyCommand,
  PutProvisionedConcurrencyConfigCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';

/** A provisioned concurrency configuration and how far its allocation got. */
export interface ProvisionedConcurrencyConfig {
  readonly requested: number;
  readonly allocated: number;
  /** IN_PROGRESS, READY or FAILED. */
  readonly status: string;
  readonly statusReason?: string;
}

/**
 * What the handler needs of Lambda: the function's reservation and its
 * alias's provisioned concurrency. Lambda's refusals reach the caller as the
 * client's exceptions (`LambdaServiceException` and its subclasses).
 */
export interface FunctionConcurrencyApi {
  /** Undefined when the function has no reservation. */
  getFunctionConcurrency(functionName: string): Promise<number | undefined>;
  putFunctionConcurrency(functionName: string, reservedConcurrentExecutions: number): Promise<void>;
  deleteFunctionConcurrency(functionName: string): Promise<void>;
  /** Undefined when the qualifier has no provisioned concurrency configuration. */
  getProvisionedConcurrencyConfig(functionName: string, qualifier: string): Promise<ProvisionedConcurrencyConfig | undefined>;
  putProvisionedConcurrencyConfig(functionName: string, qualifier: string, provisionedConcurrentExecutions: number): Promise<void>;
  /** Succeeds when there is no configuration to delete. */
  deleteProvisionedConcurrencyConfig(functionName: string, qualifier: string): Promise<void>;
}

export function createLambdaApi(client: LambdaClient): FunctionConcurrencyApi {
  return {
    async getFunctionConcurrency(functionName) {
      const answer = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: functionName }));
      return answer.ReservedConcurrentExecutions;
    },
    async putFunctionConcurrency(functionName, reservedConcurrentExecutions) {
      await client.send(new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: reservedConcurrentExecutions }));
    },
    async deleteFunctionConcurrency(functionName) {
      await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: functionName }));
    },
    async getProvisionedConcurrencyConfig(functionName, qualifier) {
      try {
        const config = await client.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: functionName, Qualifier: qualifier }));
        return {
          requested: config.RequestedProvisionedConcurrentExecutions ?? 0,
          allocated: config.AllocatedProvisionedConcurrentExecutions ?? 0,
          status: config.Status ?? 'UNKNOWN',
          statusReason: config.StatusReason,
        };
      } catch (error) {
        if (isNotFound(error)) {
          return undefined;
        }
        throw error;
      }
    },
    async putProvisionedConcurrencyConfig(functionName, qualifier, provisionedConcurrentExecutions) {
      await client.send(new PutProvisionedConcurrencyConfigCommand({
        FunctionName: functionName, Qualifier: qualifier, ProvisionedConcurrentExecutions: provisionedConcurrentExecutions,
      }));
    },
    async deleteProvisionedConcurrencyConfig(functionName, qualifier) {
      try {
        await client.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: functionName, Qualifier: qualifier }));
      } catch (error) {
        if (!isNotFound(error)) {
          throw error;
        }
      }
    },
  };
}

/** No configuration on the qualifier, or no such function or alias (any more): nothing is provisioned there. */
function isNotFound(error: unknown): boolean {
  return error instanceof ProvisionedConcurrencyConfigNotFoundException || error instanceof ResourceNotFoundException;
}
