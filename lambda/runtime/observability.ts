/**
 * Logs, metrics and (opt-in) SDK-level traces with Powertools for AWS Lambda
 * (`cdk-serverless-rds/runtime/observability`), in a module of its own so
 * that handlers without it need none of these packages.
 *
 *   const tools = observability();
 *   export const handler = instrumentHandler(tools, async (event, context) => { ... });
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { withInvocationDeadline } from './deadline';

/** Powertools for AWS Lambda: JSON logs, CloudWatch metrics (EMF) and, when given one, a Tracer. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The Tracer passed in ObservabilityOptions, if any. */
  readonly tracer?: Tracer;
}

export interface ObservabilityOptions {
  /**
   * The service name on every log line and metric.
   *
   * @default - POWERTOOLS_SERVICE_NAME
   */
  readonly serviceName?: string;
  /**
   * The CloudWatch metrics namespace.
   *
   * @default - POWERTOOLS_METRICS_NAMESPACE
   */
  readonly namespace?: string;
  /**
   * A Powertools Tracer, for subsegments inside the invocation (AWS SDK
   * clients you wrap with `tracer.captureAWSv3Client`, your own
   * subsegments). Lambda's active tracing, which DatabaseFunction turns on,
   * records every invocation without it; the Tracer and the X-Ray SDK under
   * it cost about 30 ms of every cold start, so they load only when you
   * create one.
   *
   * @default - no Tracer: Lambda's active tracing records the invocation
   */
  readonly tracer?: Tracer;
}

/**
 * A Logger and Metrics configured alike, plus the Tracer you pass. Create
 * them once per execution environment (at module level).
 */
export function observability(options: ObservabilityOptions = {}): Observability {
  return {
    logger: new Logger({ serviceName: options.serviceName }),
    metrics: new Metrics({ serviceName: options.serviceName, namespace: options.namespace }),
    ...(options.tracer ? { tracer: options.tracer } : {}),
  };
}

/**
 * Wraps a handler with Powertools' manual instrumentation and the
 * invocation's deadline: Lambda context on every log line, a ColdStart
 * metric on the first invocation, the invocation's metrics (if any) flushed
 * at the end, and every runtime call (connect, statement, retry, token,
 * Parameter Store) bounded by the time the invocation has left. With a
 * Tracer, a subsegment for the invocation (annotated with cold start and
 * service; errors are recorded, responses are not, as they may carry data).
 */
export function instrumentHandler<Event, Result>(
  tools: Observability,
  handler: (event: Event, context: Context) => Promise<Result>,
): (event: Event, context: Context) => Promise<Result> {
  const { logger, metrics, tracer } = tools;
  return withInvocationDeadline(async (event: Event, context: Context) => {
    logger.addContext(context);
    metrics.captureColdStartMetric(context.functionName);
    const close = tracer ? openSubsegment(tracer, context) : undefined;
    try {
      return await handler(event, context);
    } catch (error) {
      tracer?.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      close?.();
      // Publishing nothing would log a warning on every invocation.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  });
}

/** Opens the invocation's subsegment under Lambda's segment and returns what closes it again. */
function openSubsegment(tracer: Tracer, context: Context): () => void {
  const segment = tracer.getSegment();
  const subsegment = segment?.addNewSubsegment(`## ${process.env._HANDLER ?? context.functionName}`);
  if (subsegment) tracer.setSegment(subsegment);
  tracer.annotateColdStart();
  tracer.addServiceNameAnnotation();
  return () => {
    subsegment?.close();
    if (segment) tracer.setSegment(segment);
  };
}
