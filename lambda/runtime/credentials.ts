import { Signer } from '@aws-sdk/rds-signer';
import type { DatabaseSettings } from './settings';

/** Where connection passwords come from: an IAM token signer, or anything a test or tool supplies. */
export type PasswordSource = () => Promise<string>;

/**
 * IAM tokens are valid for 15 minutes and checked only at connect; renewing
 * after 10 leaves a margin for clock skew and a slow connect.
 */
export const TOKEN_MAX_AGE_MILLIS = 10 * 60_000;

/**
 * The password source `settings` call for: IAM authentication tokens signed
 * locally by RDS Signer with the function's credentials, or the configured
 * password of a local development database.
 */
export function passwordSourceFor(settings: DatabaseSettings): PasswordSource {
  if (settings.authentication === 'password') {
    const password = settings.password ?? '';
    return async () => password;
  }
  const signer = new Signer({ hostname: settings.host, port: settings.port, username: settings.user, region: settings.region });
  return () => signer.getAuthToken();
}

/**
 * Caches the latest password from a source, so warm reconnects skip signing,
 * and renews it on demand after the server refused it.
 */
export class CachedPassword {
  private value?: { readonly password: Promise<string>; readonly fetchedAt: number };

  constructor(private readonly source: PasswordSource, private readonly maxAgeMillis = TOKEN_MAX_AGE_MILLIS) {}

  /** The cached password while it is younger than the maximum age, otherwise a new one. */
  current(): Promise<string> {
    if (this.value && Date.now() - this.value.fetchedAt < this.maxAgeMillis) return this.value.password;
    return this.renew();
  }

  /** A new password from the source, replacing the cached one. */
  renew(): Promise<string> {
    const password = this.source();
    const entry = { password, fetchedAt: Date.now() };
    this.value = entry;
    // A failed fetch is not cached: the next call asks the source again.
    password.catch(() => {
      if (this.value === entry) this.value = undefined;
    });
    return password;
  }
}
