import { Signer } from '@aws-sdk/rds-signer';
import { Client, ClientConfig } from 'pg';
import type { Database, Queryable } from './items';

/** Connection settings the DatabaseFunction construct puts in the environment. */
export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly region: string;
}

export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  const missing = ['DATABASE_HOST', 'DATABASE_PORT', 'DATABASE_NAME', 'DATABASE_USER', 'AWS_REGION'].filter(key => !env[key]);
  if (missing.length > 0) {
    throw new Error(`missing environment variables: ${missing.join(', ')}`);
  }
  const port = Number(env.DATABASE_PORT);
  if (!/^[0-9]{1,5}$/.test(env.DATABASE_PORT!) || port < 1 || port > 65535) {
    throw new Error(`DATABASE_PORT must be a port number from 1 to 65535, not '${env.DATABASE_PORT}'`);
  }
  return {
    host: env.DATABASE_HOST!,
    port,
    database: env.DATABASE_NAME!,
    user: env.DATABASE_USER!,
    region: env.AWS_REGION!,
  };
}

/**
 * pg client settings for RDS Proxy: an IAM token as the password (signed
 * locally for each new connection, valid 15 minutes, checked only at
 * connect), TLS verified against Node's CA store (the proxy presents an
 * Amazon Root CA certificate), and timeouts well inside the function's.
 */
export function proxyClientConfig(settings: ConnectionSettings): ClientConfig {
  const signer = new Signer({ hostname: settings.host, port: settings.port, username: settings.user, region: settings.region });
  return {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.user,
    password: () => signer.getAuthToken(),
    ssl: { rejectUnauthorized: true, servername: settings.host },
    connectionTimeoutMillis: 3000,
    query_timeout: 4000,
    application_name: 'reference-api',
  };
}

/**
 * One connection per execution environment, opened on first use and reused
 * by warm invocations; dropped after an error so the next call reconnects.
 */
export function singleConnection(config: () => ClientConfig): Database {
  let connecting: Promise<Client> | undefined;

  function open(): Promise<Client> {
    const client = new Client(config());
    const opened = client.connect().then(() => client);
    // A connection the server or proxy closes while the environment is frozen
    // surfaces as 'error' events (often two); without a listener they would
    // crash the process. They drop this connection only, never a newer one.
    client.on('error', () => {
      if (connecting === opened) connecting = undefined;
    });
    return opened;
  }

  return {
    async client(): Promise<Queryable> {
      const current = connecting ??= open();
      try {
        return await current;
      } catch (error) {
        if (connecting === current) connecting = undefined;
        throw error;
      }
    },
    async reset(): Promise<void> {
      const current = connecting;
      connecting = undefined;
      await current?.then(client => client.end()).catch(() => undefined);
    },
  };
}
