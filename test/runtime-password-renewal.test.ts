/**
 * A password the server refused is renewed once (an expired IAM token): the
 * connection opened with the new one is the execution environment's one
 * connection, counted on a real PostgreSQL server.
 */
import { usePostgresRuntime, waitFor } from './support/runtime-postgres';

const runtime = usePostgresRuntime();

test('the connection opened with a renewed password is the one warm calls reuse, and close() ends it', async () => {
  const password = jest.fn<Promise<string>, []>()
    .mockResolvedValueOnce('an expired token')
    .mockResolvedValue(runtime.postgres.password);
  const { database, app } = runtime.open({ password });

  for (let i = 0; i < 3; i++) {
    expect(await database.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  }

  expect(password).toHaveBeenCalledTimes(2);
  expect(await runtime.backendPids(app)).toHaveLength(1);
  await database.close();
  await waitFor(async () => (await runtime.backendPids(app)).length === 0, 3_000);
});
