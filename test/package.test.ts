import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './support/app';

/**
 * The package as users get it: `npm pack`, installed into a fresh CDK app
 * (no TypeScript, no tsx, only the npm registry's packages), synthesized
 * with real bundling.
 */
describe('packed package', () => {
  const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'package-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, stdio: 'pipe', encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  let tarball = '';

  test('contains the compiled library, the jsii assembly and the docs, and nothing else', () => {
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], PROJECT_ROOT));
    tarball = path.join(work, packed.filename);
    const files: string[] = packed.files.map((file: { path: string }) => file.path);
    expect(files).toEqual(expect.arrayContaining(['.jsii', 'API.md', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts',
      'dist/database/proxied-database.js', 'dist/function/database-function.js', 'dist/network/database-network.js',
      'dist/bootstrap/database-bootstrap.js', 'dist/handlers/bootstrap/index.js', 'dist/handlers/custom-resource/index.js',
      'dist/handlers/secret-rotation/index.js',
      'dist/runtime/index.js', 'dist/runtime/index.d.ts', 'dist/runtime/postgres.js', 'dist/runtime/mysql.js', 'dist/runtime/observability.js',
      'dist/runtime/parameter-store.js', 'dist/review/index.js', 'dist/review/index.d.ts', 'dist/review/cli.js']));
    expect(files.filter(file => !/^(dist\/.*\.(js|d\.ts)|\.jsii|API\.md|README\.md|package\.json|LICENSE)$/.test(file))).toEqual([]);
  });

  test('ships no source maps: they would point stack traces at lib/*.ts files the package does not contain', () => {
    const unpacked = path.join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    const scripts = fs.readdirSync(path.join(unpacked, 'package', 'dist'), { recursive: true, encoding: 'utf8' }).filter(file => file.endsWith('.js'));
    expect(scripts).toContain('network/database-network.js');
    expect(scripts.filter(file => fs.readFileSync(path.join(unpacked, 'package', 'dist', file), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  });

  const app = path.join(work, 'consumer');

  test('works in a fresh CDK app', () => {
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
      name: 'consumer',
      private: true,
      dependencies: {
        'aws-cdk-lib': pkg.devDependencies['aws-cdk-lib'],
        'constructs': pkg.devDependencies.constructs,
        'esbuild': pkg.devDependencies.esbuild,
        'pg': pkg.devDependencies.pg,
        '@smithy/signature-v4': pkg.devDependencies['@smithy/signature-v4'],
        '@smithy/core': pkg.devDependencies['@smithy/core'],
        [pkg.name]: `file:${tarball}`,
      },
    }));
    // A handler on the runtime's PostgreSQL subpath export: esbuild must bundle pg, and never mysql2.
    fs.writeFileSync(path.join(app, 'handler.js'), `
const { postgresDatabase } = require('${pkg.name}/runtime/postgres');
const database = postgresDatabase();
exports.handler = async () => ({ statusCode: 200, body: JSON.stringify(await database.query('SELECT 1 AS one')) });
`);
    fs.mkdirSync(path.join(app, 'migrations'));
    fs.writeFileSync(path.join(app, 'migrations', '0001_orders.sql'), 'CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);\n');
    fs.writeFileSync(path.join(app, 'app.js'), `
const path = require('path');
const { App, Stack } = require('aws-cdk-lib');
const { AppParameters, DatabaseBootstrap, DatabaseFunction, DatabaseNetwork, DatabasePrivileges, ProxiedDatabase } = require('${pkg.name}');

const app = new App({ outdir: path.join(__dirname, 'cdk.out') });
const stack = new Stack(app, 'Consumer');
const network = new DatabaseNetwork(stack, 'Network');
const database = new ProxiedDatabase(stack, 'Database', { network });
new DatabaseBootstrap(stack, 'Bootstrap', {
  database,
  migrationsPath: path.join(__dirname, 'migrations'),
  users: [{ name: 'app_user', privileges: DatabasePrivileges.READ_WRITE }],
});
new DatabaseFunction(stack, 'Api', {
  database,
  databaseUser: 'app_user',
  parameters: new AppParameters(stack, 'Parameters', { path: '/consumer', values: { 'page-size': '20' } }),
  entry: path.join(__dirname, 'handler.js'),
  depsLockFilePath: path.join(__dirname, 'package-lock.json'),
});
app.synth();
console.log(network.hyperplaneEniCount, database.poolSize);
`);
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline'], app);
    const output = execFileSync('node', ['app.js'], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    expect(output.trim()).toBe('4 576');
    const template = JSON.parse(fs.readFileSync(path.join(app, 'cdk.out', 'Consumer.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, { Type: string; Properties: any }>);
    expect(types.filter(r => r.Type === 'AWS::RDS::DBProxy')).toHaveLength(1);
    const fn = types.find(r => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.DATABASE_USER === 'app_user')!;
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    // Without the account's concurrency limit in context, only the kill switch reserves (0).
    expect(fn.Properties.ReservedConcurrentExecutions).toEqual({ 'Fn::If': ['ApiKillSwitchOff', { Ref: 'AWS::NoValue' }, 0] });
    expect(types.filter(r => r.Type === 'Custom::DatabaseBootstrap')).toHaveLength(1);
    expect(types.filter(r => r.Type === 'Custom::ProxyTargetsAvailable')).toHaveLength(1);
    const fnCode = fn.Properties.Code.S3Key.replace(/\.zip$/, '');
    const bundle = fs.readFileSync(path.join(app, 'cdk.out', `asset.${fnCode}`, 'index.js'), 'utf8');
    expect(bundle).toContain('postgresql');
    expect(bundle).not.toMatch(/mysql_clear_password|mysql2/);
    // The Parameter Store reader the package ships, copied next to the bundle for a function with parameters.
    expect(fs.readFileSync(path.join(app, 'cdk.out', `asset.${fnCode}`, 'parameter-store.js')))
      .toEqual(fs.readFileSync(path.join(app, 'node_modules', pkg.name, 'dist', 'runtime', 'parameter-store.js')));
  }, 300000);

  test('`npx cdk-serverless-rds review` writes the review of the app\'s cdk.out, and the review module loads', () => {
    const installed = path.join(app, 'node_modules', pkg.name, 'dist', 'review', 'cli.js');
    expect(fs.statSync(installed).mode & 0o111).not.toBe(0);
    const output = execFileSync('npx', ['--no-install', 'cdk-serverless-rds', 'review'], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    expect(output).toBe('Wrote 2 review file(s) to review\n');
    const review = fs.readFileSync(path.join(app, 'review', 'Consumer.md'), 'utf8');
    expect(review).toContain(`Generated by ${pkg.name} ${pkg.version} (\`cdk-serverless-rds review\`) from the cloud assembly \`cdk.out\``);
    expect(review).toContain('| `AWS::RDS::DBProxy` | 1 |');
    const api = execFileSync('node', ['-e', `console.log(Object.keys(require('${pkg.name}/review')).sort().join(','))`], { cwd: app, encoding: 'utf8' });
    expect(api.trim().split(',')).toEqual(expect.arrayContaining(['diffAssemblies', 'generateReview', 'normalizedTemplate', 'reviewOf', 'writeReview']));
  });

  test('a validation error\'s stack trace points at files the package ships, even with source maps enabled', () => {
    fs.writeFileSync(path.join(app, 'invalid.js'), `
const { App, Stack } = require('aws-cdk-lib');
const { DatabaseNetwork } = require('${pkg.name}');
try {
  new DatabaseNetwork(new Stack(new App(), 'Invalid'), 'Network', { maxAzs: 1 });
} catch (error) {
  console.log(error.stack);
}
`);
    const stack = execFileSync('node', ['--enable-source-maps', 'invalid.js'], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    expect(stack).toContain('Invalid/Network: maxAzs (1) must be between 2 and 6');
    const installed = path.join(app, 'node_modules', pkg.name);
    const frames = [...stack.matchAll(/\((\/[^()]+):\d+:\d+\)/g)].map(match => match[1]).filter(file => file.startsWith(`${installed}/`));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.filter(file => !file.startsWith(`${installed}/dist/`) || !fs.existsSync(file))).toEqual([]);
  });
});
