import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './support/app';

interface LockedPackage {
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>;
}

/** Every package-lock.json of the repository: the project's, the shared layer's and the test fixtures'. */
const LOCKFILES = execFileSync('git', ['ls-files', '--', 'package-lock.json', '**/package-lock.json'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
  .split('\n').filter(Boolean);

/** Whether `name`, required by the package at `location`, is locked where Node.js would find it (this folder's node_modules or a parent's). */
function isLocked(packages: Record<string, LockedPackage>, location: string, name: string): boolean {
  let folder = location;
  for (;;) {
    if (packages[`${folder === '' ? '' : `${folder}/`}node_modules/${name}`]) {
      return true;
    }
    if (folder === '') {
      return false;
    }
    const parent = folder.lastIndexOf('/node_modules/');
    folder = parent === -1 ? '' : folder.slice(0, parent);
  }
}

/** "package -> dependency" for every dependency (optional ones for other platforms included) that the lockfile does not lock. */
function unlockedDependencies(lockfile: string): string[] {
  const packages: Record<string, LockedPackage> = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, lockfile), 'utf8')).packages;
  return Object.entries(packages).flatMap(([location, locked]) => [
    ...Object.keys(locked.dependencies ?? {}),
    ...Object.keys(locked.optionalDependencies ?? {}),
    ...location === '' ? Object.keys(locked.devDependencies ?? {}) : [],
    ...Object.keys(locked.peerDependencies ?? {}).filter(name => !locked.peerDependenciesMeta?.[name]?.optional),
  ].filter(name => !isLocked(packages, location, name)).map(name => `${location || '(root)'} -> ${name}`));
}

describe.each(LOCKFILES)('%s', lockfile => {
  test('locks every dependency of every package, with the optional native packages of every platform', () => {
    expect(unlockedDependencies(lockfile)).toEqual([]);
  });

  // A complete lockfile needs no registry request here; an incomplete one makes npm fetch what is missing and rewrite it.
  test('is left byte for byte as it is by `npm install`', () => {
    const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'lockfile-'));
    try {
      for (const file of ['package.json', 'package-lock.json']) {
        fs.copyFileSync(path.join(PROJECT_ROOT, path.dirname(lockfile), file), path.join(work, file));
      }
      execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: work, stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' },
      });
      // If this fails, run `npm install` in the lockfile's folder and commit the lockfile it writes.
      expect(fs.readFileSync(path.join(work, 'package-lock.json'), 'utf8')).toBe(fs.readFileSync(path.join(PROJECT_ROOT, lockfile), 'utf8'));
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

test('finds the project\'s, the shared layer\'s and the fixtures\' lockfiles', () => {
  expect(LOCKFILES).toEqual(expect.arrayContaining(['package-lock.json', 'lambda/layers/shared/package-lock.json']));
});
