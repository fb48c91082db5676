import { CfnParameter, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { inlineFunction } from '../support/app';
import { cfnTargetGroup, findingsOf, pathsFlagged, plainProxyStack } from './support';

const RULE = 'ProxyBorrowTimeoutBelowFunctionTimeout';
const TARGET_GROUP = 'Test/Proxy/ProxyTargetGroup';

describe('RdsProxy-ProxyBorrowTimeoutBelowFunctionTimeout', () => {
  test('passes a borrow timeout below the timeout of the function that reads the proxy endpoint', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(5) } });
    inlineFunction(stack, 'Reader', { timeout: Duration.seconds(10), environment: { DATABASE_HOST: proxy.endpoint } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags the default borrow timeout (120 s) against the default function timeout (3 s), naming the function', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: undefined } });
    expect(stack.resolve(cfnTargetGroup(proxy).connectionPoolConfigurationInfo)).not.toHaveProperty('connectionBorrowTimeout');
    inlineFunction(stack, 'Reader', { environment: { DATABASE_HOST: proxy.endpoint } });
    expect(findingsOf(stack, RULE)).toEqual([{
      rule: `RdsProxy-${RULE}`,
      path: TARGET_GROUP,
      description: expect.stringContaining('Test/Reader/Resource times out after 3 s, not after the borrow timeout of 120 s'),
    }]);
  });

  test('flags a borrow timeout equal to the function timeout (it must be strictly below)', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(10) } });
    inlineFunction(stack, 'Reader', { timeout: Duration.seconds(10), environment: { DATABASE_HOST: proxy.endpoint } });
    expect(pathsFlagged(stack, RULE)).toEqual([TARGET_GROUP]);
  });

  test('counts a function that only has grantConnect (no endpoint in its environment)', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(30) } });
    proxy.grantConnect(inlineFunction(stack, 'Granted', { timeout: Duration.seconds(20) }), 'app_user');
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({ description: expect.stringContaining('Test/Granted/Resource times out after 20 s') })]);
  });

  test('counts a wildcard rds-db action on the proxy\'s users', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(30) } });
    inlineFunction(stack, 'Wildcard', { timeout: Duration.seconds(20) }).addToRolePolicy(new iam.PolicyStatement({
      actions: ['rds-db:*'],
      resources: [`arn:aws:rds-db:eu-west-1:123456789012:dbuser:${proxy.dbProxyArn}/*`],
    }));
    expect(pathsFlagged(stack, RULE)).toEqual([TARGET_GROUP]);
  });

  test('counts a function that reads the endpoint of an additional proxy endpoint', () => {
    const { stack, vpc, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(30) } });
    const readOnly = new rds.DatabaseProxyEndpoint(stack, 'ReadOnly', { dbProxy: proxy, vpc, targetRole: rds.ProxyEndpointTargetRole.READ_ONLY });
    inlineFunction(stack, 'Reporter', { timeout: Duration.seconds(20), environment: { DATABASE_HOST: readOnly.endpoint } });
    expect(pathsFlagged(stack, RULE)).toEqual([TARGET_GROUP]);
  });

  test('ignores functions that do not connect: other environment values and other actions on the proxy', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(30) } });
    inlineFunction(stack, 'Unrelated', { environment: { MODE: 'batch' } });
    inlineFunction(stack, 'Watcher', { environment: { PROXY_ARN: proxy.dbProxyArn } }).addToRolePolicy(new iam.PolicyStatement({
      actions: ['rds:DescribeDBProxyTargets'],
      resources: [proxy.dbProxyArn],
    }));
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('reports a function timeout that is not a literal, which it cannot compare', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(5) } });
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number', default: 10 }).valueAsNumber;
    inlineFunction(stack, 'Reader', { timeout: Duration.seconds(seconds), environment: { DATABASE_HOST: proxy.endpoint } });
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      description: expect.stringContaining('Test/Reader/Resource has a timeout that is not a literal number ({"Ref":"Timeout"}), so it cannot be compared with the borrow timeout of 5 s'),
    })]);
  });

  test('reports a borrow timeout that is not a literal, naming the functions it cannot be compared with', () => {
    const { stack, proxy } = plainProxyStack();
    const seconds = new CfnParameter(stack, 'Borrow', { type: 'Number', default: 5 }).valueAsNumber;
    cfnTargetGroup(proxy).connectionPoolConfigurationInfo = { connectionBorrowTimeout: seconds };
    inlineFunction(stack, 'Reader', { timeout: Duration.seconds(10), environment: { DATABASE_HOST: proxy.endpoint } });
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      description: expect.stringContaining('the borrow timeout is not a literal number ({"Ref":"Borrow"}), so it cannot be compared with the timeouts of Test/Reader/Resource'),
    })]);
  });

  test('names only the functions that time out too early', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { borrowTimeout: Duration.seconds(30) } });
    inlineFunction(stack, 'Patient', { timeout: Duration.seconds(60), environment: { DATABASE_HOST: proxy.endpoint } });
    inlineFunction(stack, 'Hasty', { timeout: Duration.seconds(15), environment: { DATABASE_HOST: proxy.endpoint } });
    const [finding] = findingsOf(stack, RULE);
    expect(finding.description).toContain('Test/Hasty/Resource');
    expect(finding.description).not.toContain('Test/Patient/Resource');
  });
});
