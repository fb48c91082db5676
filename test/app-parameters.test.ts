import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AppParameters, AppParametersProps } from '../lib';
import { template, testStack } from './support/app';

function parameters(props: AppParametersProps) {
  const stack = testStack();
  return { stack, parameters: new AppParameters(stack, 'Parameters', props) };
}

/** The statements of the one policy attached to `role`. */
function statementsOf(stack: Stack, role: iam.Role): Array<{ [key: string]: any }> {
  const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
  const policies = Object.values(template(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }));
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement;
}

function readerRole(stack: Stack): iam.Role {
  return new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
}

/** The ARN Parameter Store authorizes GetParametersByPath on, for a path without its leading slash. */
const pathArn = (pathWithoutSlash: string) => ({
  'Fn::Join': ['', [
    'arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter/${pathWithoutSlash}`,
  ]],
});

describe('AppParameters', () => {
  test('creates one standard String parameter per value, named under the path', () => {
    const { stack, parameters: created } = parameters({ path: '/orders-service', values: { 'max-limit': '100', 'default_limit': '20' } });
    const t = template(stack);
    t.resourceCountIs('AWS::SSM::Parameter', 2);
    t.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/orders-service/max-limit', Value: '100', Type: 'String', Tier: 'Standard', Description: 'Shared setting of the app (AppParameters)',
    });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/orders-service/default_limit', Value: '20' });
    expect(Object.keys(created.parameters).sort()).toEqual(['default_limit', 'max-limit']);
    expect(created.path).toBe('/orders-service');
  });

  test('a value name with slashes becomes a nested parameter', () => {
    const { stack, parameters: created } = parameters({ path: '/shop/prod', values: { 'limits/max': '100' } });
    template(stack).hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/prod/limits/max', Value: '100' });
    expect(created.parameters['limits/max'].node.id).toBe('limits-max');
  });

  test('without values it creates no parameters (they are managed outside the stack)', () => {
    const { stack, parameters: created } = parameters({ path: '/orders-service' });
    created.grantRead(readerRole(stack));
    template(stack).resourceCountIs('AWS::SSM::Parameter', 0);
    expect(created.parameters).toEqual({});
  });

  test('grantRead allows only ssm:GetParametersByPath, on exactly the path', () => {
    const { stack, parameters: created } = parameters({ path: '/orders-service', values: { 'max-limit': '100' } });
    const role = readerRole(stack);
    created.grantRead(role);
    expect(statementsOf(stack, role)).toEqual([{ Action: 'ssm:GetParametersByPath', Effect: 'Allow', Resource: pathArn('orders-service') }]);
  });

  test('grantRead on a nested path names the whole path', () => {
    const { stack, parameters: created } = parameters({ path: '/shop/prod.eu_1' });
    const role = readerRole(stack);
    created.grantRead(role);
    expect(statementsOf(stack, role)).toEqual([{ Action: 'ssm:GetParametersByPath', Effect: 'Allow', Resource: pathArn('shop/prod.eu_1') }]);
  });

  test('paths that only start like a reserved prefix are accepted', () => {
    expect(() => parameters({ path: '/awsome-app' })).not.toThrow();
    expect(() => parameters({ path: '/ssm-tools/config' })).not.toThrow();
  });

  test('a path of 14 levels with a parameter at the 15th, Parameter Store\'s deepest, is accepted', () => {
    const path = `/${Array.from({ length: 14 }, (_, level) => `l${level + 1}`).join('/')}`;
    const { stack } = parameters({ path, values: { limit: '20' } });
    template(stack).hasResourceProperties('AWS::SSM::Parameter', { Name: `${path}/limit` });
  });

  test('values of exactly 4 KB are accepted', () => {
    const { stack } = parameters({ path: '/app', values: { big: 'x'.repeat(4096) } });
    template(stack).hasResourceProperties('AWS::SSM::Parameter', { Name: '/app/big', Value: Match.stringLikeRegexp('^x{4096}$') });
  });

  test('accepts tokens for the values', () => {
    const stack = testStack();
    const limit = new CfnParameter(stack, 'Limit', { default: '20' }).valueAsString;
    new AppParameters(stack, 'Parameters', { path: '/app', values: { limit } });
    template(stack).hasResourceProperties('AWS::SSM::Parameter', { Name: '/app/limit', Value: { Ref: 'Limit' } });
  });
});

describe('AppParameters validation', () => {
  test('throws on a token path: it names the parameters and the ARN grantRead allows', () => {
    const stack = testStack();
    const path = new CfnParameter(stack, 'Path', { default: '/app' }).valueAsString;
    expect(() => new AppParameters(stack, 'Parameters', { path })).toThrow(
      'Test/Parameters: path must be a value known at synth, not a token: it decides the parameter names and the ARN that grantRead allows; pass a literal');
  });

  test('throws when two values keys become the same construct id', () => {
    expect(() => parameters({ path: '/app', values: { 'a/b': '1', 'a-b': '2' } })).toThrow(
      "Test/Parameters: values keys 'a/b' and 'a-b' both become construct id 'a-b': rename one of them");
  });

  test('throws naming the missing path when JavaScript passes no props', () => {
    const stack = testStack();
    expect(() => new AppParameters(stack, 'Parameters', undefined as unknown as AppParametersProps))
      .toThrow("Test/Parameters: path is required but missing: pass path (the Parameter Store path of the settings, e.g. '/orders-service')");
  });

  const levels = (count: number) => `/${Array.from({ length: count }, (_, level) => `l${level + 1}`).join('/')}`;
  const pathRule = "must start with a slash and hold segments of letters, digits, '.', '-' or '_' separated by single slashes, with no trailing slash: for example '/orders-service'";
  const reserved = 'starts with a prefix that AWS reserves (aws or ssm): choose a path named after your app';
  const nameRule = "is not a valid parameter name: use letters, digits, '.', '-' or '_' (segments may be separated by '/'), at most 1011 characters with the path";
  const cases: Array<[string, AppParametersProps, string]> = [
    ['a path without a leading slash', { path: 'orders-service' }, `path ('orders-service') ${pathRule}`],
    ['a path with a trailing slash', { path: '/orders-service/' }, `path ('/orders-service/') ${pathRule}`],
    ['a path with a double slash', { path: '/orders//prod' }, `path ('/orders//prod') ${pathRule}`],
    ['the root path', { path: '/' }, `path ('/') ${pathRule}`],
    ['a path with a space', { path: '/orders service' }, `path ('/orders service') ${pathRule}`],
    ['an empty path', { path: '' }, `path ('') ${pathRule}`],
    ['the aws prefix', { path: '/aws/reference' }, `path ('/aws/reference') ${reserved}`],
    ['the ssm prefix', { path: '/ssm' }, `path ('/ssm') ${reserved}`],
    ['a reserved prefix in another case', { path: '/AWS/app' }, `path ('/AWS/app') ${reserved}`],
    ['a value name with a space', { path: '/app', values: { 'max limit': '1' } }, `values key 'max limit' ${nameRule}`],
    ['a value name with a leading slash', { path: '/app', values: { '/max': '1' } }, `values key '/max' ${nameRule}`],
    ['a value name with a trailing slash', { path: '/app', values: { 'max/': '1' } }, `values key 'max/' ${nameRule}`],
    ['a value name with a double slash', { path: '/app', values: { 'limits//max': '1' } }, `values key 'limits//max' ${nameRule}`],
    ['a name too long with the path', { path: '/app', values: { ['n'.repeat(1007)]: '1' } }, `values key '${'n'.repeat(1007)}' ${nameRule}`],
    ['a path of 15 levels, with no room for a parameter', { path: levels(15) },
      `path ('${levels(15)}') has 15 levels, which leaves no room for parameters under it: Parameter Store allows 15 levels in a parameter's name, `
      + 'its own name included; use at most 14 levels'],
    ['a path deeper than 15 levels', { path: levels(16) }, `path ('${levels(16)}') has 16 levels, which leaves no room for parameters under it`],
    ['a value name that goes past 15 levels', { path: levels(13), values: { 'limits/max/hard': '1' } },
      `values key 'limits/max/hard' makes '${levels(13)}/limits/max/hard' 16 levels deep, above the 15 that Parameter Store allows: `
      + 'use at most 2 levels in the key, or fewer in path'],
    ['an empty value', { path: '/app', values: { limit: '' } }, "values['limit'] must hold 1 to 4096 bytes (a standard parameter), not 0"],
    ['a value over 4 KB', { path: '/app', values: { limit: 'x'.repeat(4097) } }, "values['limit'] must hold 1 to 4096 bytes (a standard parameter), not 4097"],
    ['a value over 4 KB in UTF-8 bytes', { path: '/app', values: { limit: 'é'.repeat(2049) } }, "values['limit'] must hold 1 to 4096 bytes (a standard parameter), not 4098"],
  ];

  test.each(cases)('throws on %s', (_name, props, message) => {
    expect(() => parameters(props)).toThrow(`Test/Parameters: ${message}`);
  });
});
