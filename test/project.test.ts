import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { PROJECT_ROOT } from './support/app';

const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8'));

describe('cdk.json', () => {
  test('bundles the custom resource handlers, then runs the reference app with tsx', () => {
    expect(cdkJson.app).toBe('npm run --silent build:handlers && npx tsx bin/app.ts');
  });

  test('carries every feature flag aws-cdk-lib currently recommends, at its recommended value', () => {
    const missing = Object.entries(CURRENTLY_RECOMMENDED_FLAGS)
      .filter(([flag, value]) => JSON.stringify(cdkJson.context[flag]) !== JSON.stringify(value))
      .map(([flag, value]) => `${flag}: ${JSON.stringify(value)}`);
    expect(missing).toEqual([]);
  });

  test('turns aws-cdk-lib\'s CloudFormation rules into errors, warnings included', () => {
    expect(cdkJson.context['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
    expect(cdkJson.context['@aws-cdk/core:strictCfnValidateErrors']).toBe(true);
  });
});

describe('API.md', () => {
  const assembly = path.join(PROJECT_ROOT, '.jsii');

  test('the jsii assembly is built from the current lib/ sources', () => {
    expect(fs.existsSync(assembly)).toBe(true);
    const built = fs.statSync(assembly).mtimeMs;
    const sources = fs.readdirSync(path.join(PROJECT_ROOT, 'lib'), { recursive: true, encoding: 'utf8' })
      .filter(file => file.endsWith('.ts'))
      .filter(file => fs.statSync(path.join(PROJECT_ROOT, 'lib', file)).mtimeMs > built);
    // If this fails, run `npm run build` (npm test does it first).
    expect(sources).toEqual([]);
  });

  test('is what jsii-docgen generates from the assembly (regenerate with `npm run api`)', () => {
    const out = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'docgen-'));
    try {
      const generated = path.join(out, 'API.md');
      execFileSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'jsii-docgen'), ['-o', generated], { cwd: PROJECT_ROOT, stdio: 'pipe' });
      expect(fs.readFileSync(path.join(PROJECT_ROOT, 'API.md'), 'utf8')).toBe(fs.readFileSync(generated, 'utf8'));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

/**
 * A copy of the files a fresh clone has (tracked, plus new files not ignored), with this checkout's
 * node_modules linked in as `npm install` would leave them: no dist/, no cdk.out.
 */
function freshClone(): string {
  const clone = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'clone-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
    .split('\0').filter(file => file && fs.existsSync(path.join(PROJECT_ROOT, file)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    fs.copyFileSync(path.join(PROJECT_ROOT, file), path.join(clone, file));
  }
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(clone, 'node_modules'));
  return clone;
}

describe('the main job', () => {
  test('`npx cdk synth` in a fresh clone (nothing built yet) synthesizes every reference stack with all checks and exits 0', () => {
    const clone = freshClone();
    try {
      expect(fs.existsSync(path.join(clone, 'dist'))).toBe(false);
      execFileSync(path.join(clone, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet'], { cwd: clone, stdio: 'pipe' });
      const out = path.join(clone, 'cdk.out');
      expect(fs.existsSync(path.join(out, 'ReferenceApi.template.json'))).toBe(true);
      const report = JSON.parse(fs.readFileSync(path.join(out, 'validation-report.json'), 'utf8'));
      expect(report.pluginReports.flatMap((r: { violations: unknown[] }) => r.violations)).toEqual([]);
    } finally {
      fs.rmSync(clone, { recursive: true, force: true });
    }
  });
});
