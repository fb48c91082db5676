import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';

/** Powertools for AWS Lambda: JSON logs, X-Ray traces and CloudWatch metrics (EMF). */
export interface Observability {
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly metrics: Metrics;
}

export interface ObservabilityOptions {
  /**
   * The service name on every log line, trace and metric.
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
}

/**
 * A Logger, Tracer and Metrics configured alike. Create them once per
 * execution environment (at module level). The Tracer switches itself off
 * outside Lambda (and with POWERTOOLS_TRACE_ENABLED=false), so tests and local
 * runs send nothing to X-Ray.
 */
export function observability(options: ObservabilityOptions = {}): Observability {
  return {
    logger: new Logger({ serviceName: options.serviceName }),
    tracer: new Tracer({ serviceName: options.serviceName }),
    metrics: new Metrics({ serviceName: options.serviceName, namespace: options.namespace }),
  };
}

/**
 * Wraps a handler with Powertools' manual instrumentation: Lambda context on
 * every log line, a ColdStart metric on the first invocation, a subsegment
 * for the invocation (annotated with cold start and service; errors are
 * recorded, responses are not, as they may carry data), and the invocation's
 * metrics (if any) flushed at the end.
 */
export function instrumentHandler<Event, Result>(
  tools: Observability,
  handler: (event: Event, context: Context) => Promise<Result>,
): (event: Event, context: Context) => Promise<Result> {
  const { logger, tracer, metrics } = tools;
  return async (event, context) => {
    logger.addContext(context);
    metrics.captureColdStartMetric(context.functionName);
    const segment = tracer.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${process.env._HANDLER ?? context.functionName}`);
    if (subsegment) tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await handler(event, context);
    } catch (error) {
      tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      subsegment?.close();
      if (segment) tracer.setSegment(segment);
      // Publishing nothing would log a warning on every invocation.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
