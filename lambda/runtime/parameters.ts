import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SettingsError } from './settings';

export interface AppParametersOptions {
  /**
   * Seconds a fetched set of values is served from the cache before SSM is asked again.
   *
   * @default 60
   */
  readonly maxAge?: number;
  /**
   * The SSM Parameter Store path the parameters live under.
   *
   * @default - the PARAMETERS_PATH environment variable
   */
  readonly path?: string;
  /**
   * The Powertools SSM provider to read (and cache) with; pass one to use
   * your own SSMClient.
   *
   * @default - one provider per execution environment, with the default SSMClient
   */
  readonly provider?: SSMProvider;
}

export const DEFAULT_PARAMETERS_MAX_AGE_SECONDS = 60;
/** SSM parameter hierarchies: `/` and then names separated by `/` of [a-zA-Z0-9_.-]. */
const PARAMETER_PATH = /^\/([a-zA-Z0-9_.-]+\/)*[a-zA-Z0-9_.-]*$/;

let sharedProvider: SSMProvider | undefined;

/**
 * The app's shared, non-secret configuration: every String parameter under
 * the path (recursively), keyed by its name relative to the path
 * (`/app/prod/default-limit` under `/app/prod` is `default-limit`). Values
 * are cached by Powertools for `maxAge` seconds per execution environment,
 * so warm invocations within that time make no request to SSM.
 * SecureString values are not decrypted: keep secrets in Secrets Manager.
 */
export async function appParameters(options: AppParametersOptions = {}): Promise<Record<string, string>> {
  const path = parametersPath(options.path ?? process.env.PARAMETERS_PATH);
  const provider = options.provider ?? (sharedProvider ??= new SSMProvider());
  const values = await provider.getMultiple(path, { maxAge: options.maxAge ?? DEFAULT_PARAMETERS_MAX_AGE_SECONDS, recursive: true });
  return { ...values };
}

function parametersPath(raw: string | undefined): string {
  if (!raw) {
    throw new SettingsError('PARAMETERS_PATH is not set: set it to the SSM parameter path of the app\'s configuration (such as /my-app/prod), or do not call appParameters()');
  }
  if (!PARAMETER_PATH.test(raw)) {
    throw new SettingsError(`PARAMETERS_PATH must be an SSM parameter path such as /my-app/prod (a leading '/', names of letters, digits, '_', '.' and '-'), not '${raw}'`);
  }
  return raw.length > 1 ? raw.replace(/\/$/, '') : raw;
}
