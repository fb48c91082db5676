import { execFile } from 'child_process';

/** What a module did in a process of its own. */
export interface IsolatedOutcome {
  /** What `call` resolved to (as JSON). */
  readonly result?: any;
  /** `name: message` of what it rejected with. */
  readonly error?: string;
  /** Every file the process loaded. */
  readonly loaded: string[];
}

/**
 * Loads `file` as `module` in a fresh Node process whose module lookup finds
 * no node_modules folder at all, as a Lambda function whose asset is all it
 * has, and evaluates the JavaScript expression `call` (awaited). Asynchronous,
 * so that servers of this process keep answering the module.
 */
export function runIsolated(file: string, call: string, env: Record<string, string>): Promise<IsolatedOutcome> {
  const script = `
    const Module = require('module');
    Module._nodeModulePaths = () => [];
    const module = require(${JSON.stringify(file)});
    Promise.resolve().then(() => ${call}).then(
      result => report({ result }),
      error => report({ error: error.name + ': ' + error.message }),
    );
    // The last line of the output (Powertools writes its own lines before it); open connections would keep the process alive.
    function report(outcome) {
      process.stdout.write('\\n' + JSON.stringify({ ...outcome, loaded: Object.keys(require.cache) }) + '\\n', () => process.exit(0));
    }`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the isolated process failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}
