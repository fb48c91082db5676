import { CfnParameter } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { PropValidationError, requireResolved } from './validation';

const PATH = /^(\/[A-Za-z0-9._-]+)+$/;
/** Parameter Store's limit on the levels of a parameter's name, its own name included. */
export const MAX_NAME_LEVELS = 15;

/** The levels of a Parameter Store name or path: its segments between slashes. */
export function levels(name: string): number {
  return name.split('/').length - 1;
}

/**
 * Throws unless `path` is a literal Parameter Store path that leaves room
 * for parameters under it and does not use a prefix AWS reserves.
 */
export function validateParameterPath(scope: IConstruct, prop: string, path: string, why: string): void {
  requireResolved(scope, prop, path, why);
  if (!PATH.test(path)) {
    throw new PropValidationError(scope,
      `${prop} ('${path}') must start with a slash and hold segments of letters, digits, '.', '-' or '_' separated by single slashes, with no trailing slash: for example '/orders-service'`);
  }
  if (/^\/(aws|ssm)(\/|$)/i.test(path)) {
    throw new PropValidationError(scope, `${prop} ('${path}') starts with a prefix that AWS reserves (aws or ssm): choose a path named after your app`);
  }
  const pathLevels = levels(path);
  if (pathLevels >= MAX_NAME_LEVELS) {
    throw new PropValidationError(scope,
      `${prop} ('${path}') has ${pathLevels} levels, which leaves no room for parameters under it: Parameter Store allows ${MAX_NAME_LEVELS} levels in a parameter's name, `
      + `its own name included; use at most ${MAX_NAME_LEVELS - 1} levels`);
  }
}

/**
 * The value of the String parameter `parameterName`, which CloudFormation
 * reads at every deploy of the stack (a stack parameter of type
 * `AWS::SSM::Parameter::Value<String>`): no stack export ties the stacks
 * together, and a new value reaches the stack at its next deploy.
 */
export function parameterValueAtDeploy(scope: Construct, id: string, parameterName: string, description: string): string {
  return new CfnParameter(scope, id, { type: 'AWS::SSM::Parameter::Value<String>', default: parameterName, description }).valueAsString;
}
