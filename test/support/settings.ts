import { DatabaseSettings, settingsFromEnvironment } from '../../lambda/runtime';

/** Where a local database (or PgBouncer in front of one) listens and whom it lets in. */
export interface LocalEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/**
 * Runtime settings for a local database: password authentication without
 * TLS, which the runtime accepts outside Lambda only.
 */
export function localSettings(engine: 'postgresql' | 'mysql', endpoint: LocalEndpoint, database: string, extra: Record<string, string> = {}): DatabaseSettings {
  return settingsFromEnvironment({
    DATABASE_HOST: endpoint.host,
    DATABASE_PORT: String(endpoint.port),
    DATABASE_NAME: database,
    DATABASE_USER: endpoint.user,
    DATABASE_ENGINE: engine,
    AWS_REGION: 'eu-west-1',
    DATABASE_AUTH: 'password',
    DATABASE_PASSWORD: endpoint.password,
    DATABASE_TLS: 'disable',
    ...extra,
  });
}
