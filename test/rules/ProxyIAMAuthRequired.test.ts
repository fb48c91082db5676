import * as rds from 'aws-cdk-lib/aws-rds';
import { cfnProxy, pathsFlagged, plainProxyStack } from './support';

const RULE = 'ProxyIAMAuthRequired';

describe('RdsProxy-ProxyIAMAuthRequired', () => {
  test('passes a proxy with iamAuth: true (IAMAuth REQUIRED on its Auth entry)', () => {
    const { stack } = plainProxyStack({ proxy: { iamAuth: true } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes end-to-end IAM (DefaultAuthScheme IAM_AUTH, no Auth entries)', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { secrets: undefined, iamAuth: undefined, defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH } });
    expect(stack.resolve(cfnProxy(proxy).auth)).toBeUndefined();
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a proxy that lets clients connect with the secret\'s password (iamAuth off)', () => {
    const { stack } = plainProxyStack({ proxy: { iamAuth: false } });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('flags an Auth entry without IAMAuth REQUIRED even when DefaultAuthScheme is IAM_AUTH', () => {
    const { stack, proxy } = plainProxyStack({ proxy: { iamAuth: false } });
    cfnProxy(proxy).defaultAuthScheme = 'IAM_AUTH';
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });

  test('flags a proxy with neither Auth entries nor DefaultAuthScheme IAM_AUTH', () => {
    const { stack, proxy } = plainProxyStack();
    cfnProxy(proxy).auth = undefined;
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });
});
