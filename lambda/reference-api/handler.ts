import { appParameters } from '../runtime';
import { observability } from '../runtime/observability';
import { postgresDatabase } from '../runtime/postgres';
import { createItemsHandler } from './items';

const tools = observability({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ? undefined : 'reference-api' });

/** Lambda entry point of the reference API (HTTP API payload format 2.0). */
export const handler = createItemsHandler(postgresDatabase({ logger: tools.logger }), {
  parameters: process.env.PARAMETERS_PATH ? () => appParameters() : undefined,
  observability: tools,
});
