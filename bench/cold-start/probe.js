'use strict';
/**
 * One cold-start sample, run in a fresh `node` process per sample: loads a
 * function's code the way Lambda's runtime does, calls its handler once and
 * writes one JSON report to file descriptor 3, then exits without cleaning
 * up (as a Lambda environment is frozen, not shut down).
 *
 *   node probe.js '{"file":…,"handlerExport":…,"roots":[…],"event":…}'
 *
 * Plain JavaScript, so nothing but Node itself runs before the bundle.
 */
const fs = require('fs');
const Module = require('module');
const path = require('path');

const REPORT_FD = 3;
const { file, handlerExport, roots, event } = JSON.parse(process.argv[2]);

const isInside = location => roots.some(root => location === root || location.startsWith(root + path.sep));
// In Lambda no node_modules folder lies above /var/task; here the assembly sits inside the project,
// whose node_modules Node would search before NODE_PATH. Resolve only inside the code and NODE_PATH folders.
const nodeModulePaths = Module._nodeModulePaths;
Module._nodeModulePaths = from => nodeModulePaths.call(Module, from).filter(isInside);

/**
 * Peak resident memory in kB. Not process.resourceUsage().maxRSS on Linux: ru_maxrss survives exec, so a
 * fresh process reports the peak of the process that spawned it when that was higher; VmHWM is its own.
 */
function peakRssKb() {
  const status = fs.existsSync('/proc/self/status') ? fs.readFileSync('/proc/self/status', 'utf8') : '';
  const highWaterMark = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  return highWaterMark ? Number(highWaterMark[1]) : process.resourceUsage().maxRSS;
}

function report(result) {
  fs.writeSync(REPORT_FD, JSON.stringify(result));
}

function fail(error) {
  report({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.exit(1);
}

let handler;
let loadStarted;
let ready;
try {
  loadStarted = performance.now();
  handler = require(file)[handlerExport];
  ready = performance.now();
} catch (error) {
  fail(error);
}
if (typeof handler !== 'function') fail(new Error(`${file} exports no function named ${handlerExport}`));

const context = {
  functionName: 'cold-start-bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:cold-start-bench',
  memoryLimitInMB: '1024',
  awsRequestId: `cold-start-${process.pid}`,
  logGroupName: '/aws/lambda/cold-start-bench',
  logStreamName: 'probe',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

Promise.resolve()
  .then(() => handler(event, context))
  .then(response => {
    const firstCall = performance.now() - ready;
    const loaded = Object.keys(require.cache).filter(loadedFile => loadedFile !== __filename);
    const outside = loaded.filter(loadedFile => !isInside(loadedFile));
    if (outside.length > 0) throw new Error(`modules loaded from outside the code and NODE_PATH folders: ${outside.slice(0, 5).join(', ')}`);
    report({ ready, load: ready - loadStarted, firstCall, maxRssKb: peakRssKb(), modules: loaded.length, response });
    process.exit(0);
  })
  .catch(fail);
