/** Resolves to the error `promise` rejects with; throws when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

export interface CapturedOutput {
  /** Everything written to stdout and stderr in the current test. */
  written(): string[];
  /** The JSON log lines (not metrics) written in the current test. */
  logLines(): any[];
  /** Forget what was written so far in the current test. */
  clear(): void;
}

/**
 * Record what Powertools writes (JSON lines on stdout/stderr) per test, and
 * keep the test output quiet. Call at the top level of a test file.
 */
export function captureOutput(): CapturedOutput {
  let output: string[] = [];
  let spies: jest.SpyInstance[] = [];
  beforeAll(() => {
    const capture = (chunk: string | Uint8Array) => { output.push(String(chunk)); return true; };
    spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  });
  beforeEach(() => {
    output = [];
  });
  afterAll(() => {
    for (const spy of spies) spy.mockRestore();
  });
  return {
    written: () => output,
    clear: () => { output = []; },
    logLines: () => output.join('').split('\n').filter(line => line.trim()).map(line => JSON.parse(line)).filter(line => !line._aws),
  };
}

/**
 * Record the lines written with console.log per test (the custom resource
 * and rotation handlers log one JSON line per event), and keep the test
 * output quiet. Call at the top level of a test file.
 */
export function captureConsoleLog(): () => string[] {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    jest.spyOn(console, 'log').mockImplementation((line: unknown) => { lines.push(String(line)); });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  return () => lines;
}
