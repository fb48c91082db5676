import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './support/app';
import { requireBinary } from './support/apt';

/**
 * The Python package as jsii-pacmak generates it from the compiled assembly (`npm test` builds it
 * first): sources only, since wheels need PyPI. Its files are compiled and read with the standard
 * library; running them would need the `jsii`, `aws_cdk` and `constructs` Python packages.
 */
describe('Python bindings', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  const { distName, module } = pkg.jsii.targets.python;
  const assembly = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, '.jsii'), 'utf8'));
  const python = requireBinary('python3', 'python3');
  const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'python-'));
  const generated = path.join(work, 'generated', 'python');
  const moduleFile = path.join(generated, 'src', module, '__init__.py');

  /** Runs test/support/python-bindings.py and parses the JSON it prints; throws with its message when it exits non-zero. */
  function inspect<T>(...args: string[]): T {
    return JSON.parse(execFileSync(python, [path.join(PROJECT_ROOT, 'test', 'support', 'python-bindings.py'), ...args], { encoding: 'utf8', stdio: 'pipe' }));
  }

  beforeAll(() => {
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'jsii-pacmak', 'bin', 'jsii-pacmak'),
      '--targets', 'python', '--code-only', '--outdir', path.join(work, 'generated')], { cwd: PROJECT_ROOT, stdio: 'pipe' });
  }, 120000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('are generated as the distribution and module that package.json names', () => {
    expect(distName).toBe('cdk-serverless-rds');
    expect(module).toBe('cdk_serverless_rds');
    expect(fs.readFileSync(path.join(generated, 'setup.py'), 'utf8')).toContain(`"name": "${distName}"`);
    expect(fs.existsSync(moduleFile)).toBe(true);
  });

  test('every generated file compiles', () => {
    const { compiled } = inspect<{ compiled: string[] }>('compile', generated);
    expect(compiled).toEqual(expect.arrayContaining(['setup.py', `src/${module}/__init__.py`, `src/${module}/_jsii/__init__.py`]));
  });

  test('the compile step fails on a file that does not compile', () => {
    const broken = path.join(work, 'broken');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, 'valid.py'), 'x = 1\n');
    fs.writeFileSync(path.join(broken, 'invalid.py'), 'def handler(:\n');
    expect(() => inspect('compile', broken)).toThrow(/invalid\.py/);
  });

  const api = () => inspect<{
    classes: Record<string, { members: Record<string, string[]>; duplicates: string[] }>;
    exports: string[];
    keywords: string[];
    builtins: string[];
  }>('api', moduleFile);

  test('the module defines and exports every type of the assembly under its TypeScript name', () => {
    const names = Object.values(assembly.types as Record<string, { name: string }>).map(type => type.name).sort();
    expect(names).toEqual(expect.arrayContaining(['ProxiedDatabase', 'DatabaseFunction', 'DatabaseNetwork', 'DatabaseBootstrap']));
    const { classes, exports } = api();
    expect(Object.keys(classes).sort()).toEqual(names);
    expect([...exports].sort()).toEqual(names);
  });

  test('no public name is a Python keyword, shadows a builtin, or was renamed with a trailing underscore', () => {
    const { classes, keywords, builtins } = api();
    const reserved = new Set([...keywords, ...builtins]);
    // `id` is the construct id of every constructor and of addPermission, and a field of aws-cdk-lib's MetricOptions, as in aws-cdk-lib's own bindings.
    const unfit = (name: string, allowed: string[] = []) => !allowed.includes(name) && (reserved.has(name) || /[^_]_$/.test(name));
    const found = Object.entries(classes).flatMap(([className, { members }]) => Object.entries(members).flatMap(([member, params]) => [
      ...unfit(member) ? [`${className}.${member}`] : [],
      ...params.filter(param => unfit(param, ['id'])).map(param => `${className}.${member}(${param})`),
    ]));
    expect(found).toEqual([]);
  });

  test('no class has two members with the same Python name', () => {
    const duplicates = Object.entries(api().classes).flatMap(([className, { duplicates: names }]) => names.map(name => `${className}.${name}`));
    expect(duplicates).toEqual([]);
  });

  test('the README\'s Python example compiles and uses only members and keyword arguments the module defines', () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const examples = [...readme.matchAll(/```python\n([\s\S]*?)```/g)].map(match => match[1]);
    expect(examples).toHaveLength(1);
    const example = path.join(work, 'example');
    fs.mkdirSync(example);
    fs.writeFileSync(path.join(example, 'app.py'), examples[0]);
    expect(inspect<{ compiled: string[] }>('compile', example).compiled).toEqual(['app.py']);

    const { classes } = api();
    const { imported, uses } = inspect<{ imported: string[]; uses: { member: string; keywords: string[] }[] }>('calls', path.join(example, 'app.py'), module);
    expect(imported).toEqual(expect.arrayContaining(['DatabaseFunction', 'DatabaseNetwork', 'ProxiedDatabase']));
    expect(uses.map(use => use.member)).toEqual(expect.arrayContaining([
      'ProxiedDatabase.__init__', 'DatabaseFunction.__init__', 'ProxiedDatabase.connect_function', 'DatabaseNetwork.function_subnets',
    ]));
    const problems = [
      ...imported.filter(name => !classes[name]).map(name => `${name} is not in ${module}`),
      ...uses.flatMap(({ member, keywords }) => {
        const [className, memberName] = member.split('.');
        const params = classes[className]?.members[memberName];
        if (!params) return [`${member} is not defined`];
        return keywords.filter(keyword => !params.includes(keyword)).map(keyword => `${member} takes no ${keyword}=`);
      }),
    ];
    expect(problems).toEqual([]);
  });
});
