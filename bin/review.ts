import * as path from 'path';
import { writeReview } from './review/report';

/**
 * Write the infrastructure review of a synthesized cloud assembly:
 * `tsx bin/review.ts <assemblyDir> <outDir>`, e.g. `tsx bin/review.ts cdk.out review`.
 */
function main(args: string[]): void {
  if (args.length !== 2) {
    process.stderr.write('usage: tsx bin/review.ts <assemblyDir> <outDir>\n');
    process.exitCode = 2;
    return;
  }
  const [assemblyDirectory, outputDirectory] = args;
  const files = writeReview(assemblyDirectory, outputDirectory);
  process.stdout.write(`Wrote ${files.length} files to ${path.relative(process.cwd(), path.resolve(outputDirectory)) || '.'}\n`);
}

main(process.argv.slice(2));
