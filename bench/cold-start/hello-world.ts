/** The cold-start floor: a handler with nothing to load and nothing to connect to. */
export const handler = async () => ({ statusCode: 200, body: 'hello' });
