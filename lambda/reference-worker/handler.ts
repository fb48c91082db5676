import { observability } from '../runtime/observability';
import { mysqlDatabase } from '../runtime/mysql';
import { createOrdersHandler } from './orders';

const tools = observability({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ? undefined : 'reference-worker' });

/**
 * Lambda entry point of the reference worker (EventBridge OrderPlaced events,
 * invoked asynchronously). Connection settings come from the DATABASE_*
 * environment variables (DATABASE_ENGINE=mysql).
 */
export const handler = createOrdersHandler(mysqlDatabase({ logger: tools.logger }), { observability: tools });
