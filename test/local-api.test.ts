/**
 * The local dev loop (`npm run local`): a real PostgreSQL with the deploy's
 * migrations and user, and the reference handler behind HTTP with API
 * Gateway-shaped events, exercised the way a developer does with curl.
 */
import { LocalApi, startLocalApi } from '../bin/local-api';

let api: LocalApi;

beforeAll(async () => {
  api = await startLocalApi({ port: 0 });
});

afterAll(async () => {
  await api?.stop();
});

async function call(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(api.url + path, { method, body: init.body, headers: init.headers });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

test('creates an item, returns it again for the same idempotency key, and lists and reads it', async () => {
  const headers = { 'content-type': 'application/json', 'idempotency-key': 'local-1' };
  const created = await call('POST', '/items', { body: JSON.stringify({ name: 'first' }), headers });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name: 'first', id: expect.stringMatching(/^[0-9]+$/) });

  const retried = await call('POST', '/items', { body: JSON.stringify({ name: 'first' }), headers });
  expect(retried.body.id).toBe(created.body.id);

  const list = await call('GET', '/items?limit=5');
  expect(list.status).toBe(200);
  expect(list.body.items).toEqual([created.body]);

  const read = await call('GET', `/items/${created.body.id}`);
  expect(read).toEqual({ status: 200, body: created.body });
});

test('passes bad input to the handler, which answers 400 with the reason', async () => {
  const response = await call('POST', '/items', { body: '{not json', headers: { 'idempotency-key': 'local-2' } });
  expect(response).toEqual({ status: 400, body: { message: 'request body is not valid JSON' } });
});

test('answers 404 like API Gateway for a path or method without a route', async () => {
  expect(await call('GET', '/nothing')).toEqual({ status: 404, body: { message: 'Not Found' } });
  expect(await call('DELETE', '/items/1')).toEqual({ status: 404, body: { message: 'Not Found' } });
});
