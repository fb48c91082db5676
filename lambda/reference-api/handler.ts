import { proxyClientConfig, settingsFromEnvironment, singleConnection } from './database';
import { createItemsHandler } from './items';

/** Lambda entry point of the reference API (HTTP API payload format 2.0). */
export const handler = createItemsHandler(singleConnection(() => proxyClientConfig(settingsFromEnvironment())));
