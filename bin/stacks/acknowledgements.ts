import { Validations } from 'aws-cdk-lib';
import { DatabaseFunction } from '../../lib';

const SYNCHRONOUS_ONLY = 'The function is only invoked synchronously (by API Gateway), which returns its errors to the caller; '
  + 'a dead-letter queue only ever receives failed asynchronous invocations, which this function never gets.';

/** Acknowledge the dead-letter-queue rules for a function that is only invoked synchronously. */
export function acknowledgeSynchronousInvocation(fn: DatabaseFunction): void {
  for (const pack of ['Serverless', 'HIPAA.Security', 'NIST.800.53.R5']) {
    Validations.of(fn.lambdaFunction).acknowledge({ id: `${pack}::${pack}-LambdaDLQ`, reason: SYNCHRONOUS_ONLY });
  }
}
