import { pathsFlagged, plainProxyStack } from './support';

const RULE = 'ProxyDebugLoggingOff';

describe('RdsProxy-ProxyDebugLoggingOff', () => {
  test('passes a proxy without DebugLogging (off by default)', () => {
    const { stack } = plainProxyStack();
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes a proxy with debugLogging: false', () => {
    const { stack } = plainProxyStack({ proxy: { debugLogging: false } });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('flags a proxy with debugLogging: true', () => {
    const { stack } = plainProxyStack({ proxy: { debugLogging: true } });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Proxy/Resource']);
  });
});
