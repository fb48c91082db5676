const targets: Array<(line: string) => void> = [];
let original: typeof console.log | undefined;

/**
 * Runs `work` with console.log going to `log`: the bootstrap code logs with
 * console.log (to CloudWatch in Lambda), and here its lines are progress
 * lines, not the benchmark's output. Calls may overlap (databases start in
 * parallel): console.log is restored when the last one ends, and lines go to
 * the newest caller's `log`.
 */
export async function withConsoleLogTo<T>(log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  if (targets.length === 0) {
    original = console.log;
    console.log = (...values: unknown[]) => targets[targets.length - 1](values.map(String).join(' '));
  }
  targets.push(log);
  try {
    return await work();
  } finally {
    targets.splice(targets.lastIndexOf(log), 1);
    if (targets.length === 0) console.log = original!;
  }
}
