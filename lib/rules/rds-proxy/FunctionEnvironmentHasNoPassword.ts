import { parse } from 'path';
import { CfnResource, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NagRuleCompliance } from 'cdk-nag';
import { isSecretLikeName, SECRET_DYNAMIC_REFERENCE } from '../../private/secret-environment';

/**
 * The environment variables of a Lambda function that hold a password or
 * secret, each as "NAME: why" (never the value): a secret-like name (see
 * `isSecretLikeName`) with a non-empty literal value, or any name whose value
 * is a Secrets Manager or SSM SecureString dynamic reference, also inside
 * `Fn::Join`. Empty for other resources.
 * @param node the CfnResource to check
 */
export function secretEnvironmentVariables(node: CfnResource): string[] {
  if (!(node instanceof lambda.CfnFunction)) {
    return [];
  }
  const environment: lambda.CfnFunction.EnvironmentProperty | undefined = Stack.of(node).resolve(node.environment);
  return Object.entries(environment?.variables ?? {}).flatMap(([name, value]: [string, unknown]) => {
    if (SECRET_DYNAMIC_REFERENCE.test(JSON.stringify(value))) {
      return [`${name} resolves a Secrets Manager or SSM SecureString value into the configuration`];
    }
    return isSecretLikeName(name) && typeof value === 'string' && value !== '' ? [`${name} has a password-like name and a literal value`] : [];
  });
}

/**
 * Lambda functions keep passwords and secrets out of their environment
 * variables: see `secretEnvironmentVariables`. Every function is checked,
 * not only the clients of a proxy.
 * @param node the CfnResource to check
 */
export const FunctionEnvironmentHasNoPassword = Object.defineProperty(
  (node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof lambda.CfnFunction)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return secretEnvironmentVariables(node).length > 0 ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  },
  'name',
  { value: parse(__filename).name },
);
