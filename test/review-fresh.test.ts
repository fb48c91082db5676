import * as fs from 'fs';
import * as path from 'path';
import { buildReferenceApp } from '../bin/reference-app';
import { generateReview, ReviewFile } from '../bin/review/report';
import { PROJECT_ROOT, testApp } from './support/app';

const REVIEW_DIRECTORY = path.join(PROJECT_ROOT, 'review');
const STALE = 'review/ is stale: run `npm run review` and commit review/';

/** The review of the reference app, synthesized with cdk.json's context like `cdk synth` (and its checks). */
function referenceReview(bundling: boolean): ReviewFile[] {
  const app = testApp({ bundling });
  buildReferenceApp(app);
  return generateReview(app.synth().directory);
}

/** Names of the files that differ between the generated and the committed review (missing, extra or changed). */
function staleFiles(generated: readonly ReviewFile[]): string[] {
  const committed = fs.existsSync(REVIEW_DIRECTORY) ? fs.readdirSync(REVIEW_DIRECTORY).filter(name => name.endsWith('.md')) : [];
  const names = new Set([...committed, ...generated.map(file => file.name)]);
  return [...names].sort().filter(name => {
    const file = generated.find(f => f.name === name);
    const committedPath = path.join(REVIEW_DIRECTORY, name);
    return !file || !fs.existsSync(committedPath) || fs.readFileSync(committedPath, 'utf8') !== file.content;
  });
}

describe('committed review', () => {
  const unbundled = referenceReview(false);

  test('review/ matches the review generated from the reference app', () => {
    const stale = staleFiles(unbundled);
    if (stale.length) {
      throw new Error(`${STALE}\ndiffering files: ${stale.join(', ')}`);
    }
    expect(stale).toEqual([]);
  });

  test('the review has no asset-dependent content: a bundled synth gives the same files as an unbundled one', () => {
    expect(referenceReview(true)).toEqual(unbundled);
  });
});
