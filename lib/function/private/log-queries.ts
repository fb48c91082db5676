import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Messages the runtime (`cdk-serverless-rds/runtime`) logs. The library
 * cannot import runtime code, so a test checks these against the runtime's
 * own constants.
 */
export const RUNTIME_LOG_MESSAGES = {
  connectionRetry: 'database connection failed; reconnecting once',
  passwordRenewal: 'database refused the password; connecting once more with a new one',
  proxyBorrowTimeout: 'database proxy borrow timeout',
};

/**
 * Logs Insights queries over a function's JSON logs: Lambda's platform
 * records (`type`, `record.*`) and the runtime's Powertools log lines
 * (`level`, `message`, `function_request_id`, `errorName`, `errorCode`).
 */
export const LOG_QUERIES: ReadonlyArray<{ readonly id: string; readonly title: string; readonly query: logs.QueryStringProps }> = [
  {
    id: 'ColdStarts',
    title: 'Cold starts and init duration',
    query: {
      // On-demand cold starts only: environments provisioned ahead of traffic initialise outside invocations.
      filterStatements: ['type = "platform.report" and ispresent(record.metrics.initDurationMs)'],
      statsStatements: ['count() as coldStarts, avg(record.metrics.initDurationMs) as avgInitMs, pct(record.metrics.initDurationMs, 99) as p99InitMs, max(record.metrics.initDurationMs) as maxInitMs by bin(5m)'],
    },
  },
  {
    id: 'Errors',
    title: 'Errors with request ids',
    query: {
      fields: ['@timestamp', 'coalesce(function_request_id, record.requestId, requestId) as lambdaRequestId', 'level', 'message', 'errorName', 'errorCode', 'errorType', 'record.status'],
      filterStatements: ['level = "ERROR" or (type = "platform.report" and record.status != "success")'],
      sort: '@timestamp desc',
      limit: 100,
    },
  },
  {
    id: 'SlowestInvocations',
    title: 'Slowest invocations',
    query: {
      fields: ['@timestamp', 'record.requestId as lambdaRequestId', 'record.metrics.durationMs as durationMs', 'record.metrics.initDurationMs as initDurationMs', 'record.metrics.maxMemoryUsedMB as maxMemoryUsedMB', 'record.status as status'],
      filterStatements: ['type = "platform.report"'],
      sort: 'durationMs desc',
      limit: 25,
    },
  },
  {
    id: 'ConnectionRetries',
    title: 'Database connection retries',
    query: {
      filterStatements: [`message in ["${RUNTIME_LOG_MESSAGES.connectionRetry}", "${RUNTIME_LOG_MESSAGES.passwordRenewal}"]`],
      statsStatements: ['count() as retries by message, errorName, errorCode, bin(5m)'],
    },
  },
  {
    id: 'ProxyBorrowTimeouts',
    title: 'Proxy borrow timeouts',
    query: {
      filterStatements: [`message = "${RUNTIME_LOG_MESSAGES.proxyBorrowTimeout}"`],
      statsStatements: ['count() as borrowTimeouts, count_distinct(function_request_id) as invocations by bin(1m)'],
    },
  },
];

/**
 * Save the queries with the stack, in a folder named after the function so
 * that the console lists them together.
 */
export function addLogQueries(scope: Construct, logGroup: logs.ILogGroup, folder: string): logs.QueryDefinition[] {
  const parent = new Construct(scope, 'LogQueries');
  return LOG_QUERIES.map(({ id, title, query }) => new logs.QueryDefinition(parent, id, {
    queryDefinitionName: `${folder}/${title}`,
    queryString: new logs.QueryString(query),
    logGroups: [logGroup],
  }));
}
