import { CfnParameter } from 'aws-cdk-lib';
import { cfnProxy, findingsOf, pathsFlagged, plainProxyStack } from './support';

const RULE = 'ProxyTLSRequired';

describe('RdsProxy-ProxyTLSRequired', () => {
  test('passes a proxy with requireTLS: true', () => {
    const { stack } = plainProxyStack({ proxy: { requireTLS: true } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a proxy with requireTLS: false', () => {
    const { stack } = plainProxyStack({ proxy: { requireTLS: false } });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('flags a proxy without RequireTLS, which is off by default', () => {
    const { stack, proxy } = plainProxyStack();
    cfnProxy(proxy).requireTls = undefined;
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('reports a RequireTLS from a parameter as a finding that could not be validated', () => {
    const { stack, proxy } = plainProxyStack();
    cfnProxy(proxy).requireTls = new CfnParameter(stack, 'RequireTls', { type: 'String' }).valueAsString as unknown as boolean;
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({ path: 'Test/Proxy/Resource', description: expect.stringMatching(/^Rule threw an error during validation/) })]);
  });
});
