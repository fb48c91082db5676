import * as fs from 'fs';
import * as path from 'path';

const PROJECT_ROOT = path.join(__dirname, '..');

/**
 * Rules that the constructs (lib/, compiled by jsii from lib/ alone) and the
 * handlers (lambda/, which never import lib/) must apply alike: each source
 * imports nothing, and the handler side gets a generated copy of it.
 */
export const SHARED_COPIES: ReadonlyArray<{ readonly source: string; readonly copy: string }> = [
  { source: 'lib/private/database-user-names.ts', copy: 'lambda/bootstrap/database-user-names.ts' },
];

/** The text of the copy of `source` (a path relative to the project root). */
export function sharedCopyText(source: string): string {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, source), 'utf8');
  return `// Generated from ${source} by \`npx tsx bin/generate-shared.ts\`: edit that file, then run the command.\n${text}`;
}

/** Write every copy: `npx tsx bin/generate-shared.ts`. */
function main(): void {
  for (const { source, copy } of SHARED_COPIES) {
    fs.writeFileSync(path.join(PROJECT_ROOT, copy), sharedCopyText(source));
    process.stdout.write(`Wrote ${copy} from ${source}\n`);
  }
}

if (require.main === module) {
  main();
}
