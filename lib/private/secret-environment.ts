/**
 * CloudFormation dynamic references that put a secret's value into the
 * template at deploy time: what `SecretValue.secretsManager`,
 * `secret.secretValue`, `secretValueFromJson` and `SecretValue.ssmSecure`
 * render to.
 */
export const SECRET_DYNAMIC_REFERENCE = /\{\{resolve:(secretsmanager|ssm-secure):/;

/** Words of a variable name that say it holds a password or secret. */
const SECRET_WORDS = new Set(['pass', 'passwd', 'password', 'passphrase', 'pwd', 'secret']);
/** Last words of a variable name that say it holds where a secret is, not the secret. */
const LOCATION_WORDS = new Set(['arn', 'name', 'id', 'path', 'param', 'parameter']);

/**
 * Whether an environment variable's name says it holds a password or secret:
 * one of its words (split at `_`, `-`, `.` and camelCase humps) is pass,
 * passwd, password, passphrase, pwd or secret, or ends in password or passwd
 * (`PGPASSWORD`), or two of them say private key, unless the last word names a location (`DB_SECRET_ARN`,
 * `SECRET_NAME`, `PASSWORD_PARAMETER`). Substrings do not count, so `BYPASS`
 * and `SECRETS_MANAGER_ENDPOINT` do not look like passwords.
 */
export function isSecretLikeName(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[^a-z0-9]+/).filter(word => word !== '');
  if (words.length === 0 || LOCATION_WORDS.has(words[words.length - 1])) {
    return false;
  }
  return words.some((word, i) => SECRET_WORDS.has(word) || /passw(or)?d$/.test(word) || (word === 'private' && words[i + 1] === 'key'));
}
