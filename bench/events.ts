import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** GET /items as API Gateway's HTTP API (payload format 2.0) delivers it to the reference API. */
export function listItemsEvent(requestId: string, userAgent: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'GET /items',
    rawPath: '/items',
    rawQueryString: '',
    headers: { host: 'api.example.com' },
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api123',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method: 'GET', path: '/items', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent },
      requestId,
      routeKey: 'GET /items',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1767225600000,
    },
  };
}
