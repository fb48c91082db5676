import { SecretValue } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { inlineFunction, testStack } from '../support/app';
import { findingsOf, pathsFlagged } from './support';

const RULE = 'FunctionEnvironmentHasNoPassword';

function stackWithEnvironment(environment: { [key: string]: string }) {
  const stack = testStack();
  inlineFunction(stack, 'Fn', { environment });
  return stack;
}

describe('RdsProxy-FunctionEnvironmentHasNoPassword', () => {
  test.each([
    ['DB_PASSWORD'], ['PGPASSWORD'], ['MYSQL_PWD'], ['dbPassword'], ['USER_PASS'], ['CLIENT_SECRET'], ['SECRET_KEY'], ['APP_PASSPHRASE'],
  ])('flags %s with a literal value, without showing the value', name => {
    const stack = stackWithEnvironment({ [name]: 'hunter2' });
    const findings = findingsOf(stack, RULE);
    expect(findings.map(finding => finding.path)).toEqual(['Test/Fn/Resource']);
    expect(findings[0].description).toContain(`${name} has a password-like name and a literal value`);
    expect(findings[0].description).not.toContain('hunter2');
  });

  test.each([
    ['DB_SECRET_ARN'], ['SECRET_NAME'], ['PASSWORD_PARAMETER'], ['SECRETS_MANAGER_ENDPOINT'], ['BYPASS_CACHE'], ['PASSENGER_LIMIT'], ['COMPASS_HEADING'],
  ])('passes %s, whose name does not hold a password', name => {
    expect(pathsFlagged(stackWithEnvironment({ [name]: 'some-value' }), RULE)).toEqual([]);
  });

  test('passes a password-like name with an empty value', () => {
    expect(pathsFlagged(stackWithEnvironment({ DB_PASSWORD: '' }), RULE)).toEqual([]);
  });

  test('passes the ARN of a secret under a secret-like name', () => {
    const stack = testStack();
    const secret = new secretsmanager.Secret(stack, 'Secret');
    inlineFunction(stack, 'Fn', { environment: { DB_SECRET_ARN: secret.secretArn, SECRET: secret.secretArn } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a Secrets Manager value (secretValueFromJson, inside Fn::Join) under any name', () => {
    const stack = testStack();
    const secret = new secretsmanager.Secret(stack, 'Secret');
    inlineFunction(stack, 'Fn', { environment: { DATABASE_CREDENTIAL: secret.secretValueFromJson('password').unsafeUnwrap() } });
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      path: 'Test/Fn/Resource',
      description: expect.stringContaining('DATABASE_CREDENTIAL resolves a Secrets Manager or SSM SecureString value into the configuration'),
    })]);
  });

  test('flags an SSM SecureString value under any name', () => {
    const stack = stackWithEnvironment({ TOKEN: SecretValue.ssmSecure('/app/token').unsafeUnwrap() });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Fn/Resource']);
  });

  test('passes a plain SSM parameter reference', () => {
    expect(pathsFlagged(stackWithEnvironment({ MODE: '{{resolve:ssm:/app/mode}}' }), RULE)).toEqual([]);
  });
});
