import * as fs from 'fs';
import * as path from 'path';
import { SHARED_COPIES, sharedCopyText } from '../bin/generate-shared';
import { userNameProblem } from '../lib/private/database-user-names';
import { PROJECT_ROOT } from './support/app';

describe('rules shared by the constructs and the handlers', () => {
  test.each(SHARED_COPIES.map(({ source, copy }) => [copy, source]))('%s is generated from %s (regenerate with `npx tsx bin/generate-shared.ts`)', (copy, source) => {
    expect(fs.readFileSync(path.join(PROJECT_ROOT, copy), 'utf8')).toBe(sharedCopyText(source));
  });

  test.each(SHARED_COPIES.map(({ source }) => [source]))('%s imports nothing, so that its copy in lambda/ needs nothing from lib/', source => {
    expect(fs.readFileSync(path.join(PROJECT_ROOT, source), 'utf8')).not.toMatch(/^\s*(import|export .* from)\b|require\(/m);
  });
});

describe('database user names', () => {
  test.each([['app_user'], ['a'], ['reporting2'], ['orders_app_v2']])('%s is a valid name on both engines', name => {
    expect(userNameProblem(name, 'postgresql')).toBeUndefined();
    expect(userNameProblem(name, 'mysql')).toBeUndefined();
  });

  test('PostgreSQL allows 63 characters, MySQL 32', () => {
    expect(userNameProblem('u'.repeat(63), 'postgresql')).toBeUndefined();
    expect(userNameProblem('u'.repeat(64), 'postgresql')).toBe(
      "is not a valid database user name: use 1 to 63 characters, a lowercase letter first, then lowercase letters, digits or underscores (e.g. 'app_user')");
    expect(userNameProblem('u'.repeat(32), 'mysql')).toBeUndefined();
    expect(userNameProblem('u'.repeat(33), 'mysql')).toBe(
      "is not a valid database user name: use 1 to 32 characters, a lowercase letter first, then lowercase letters, digits or underscores (e.g. 'app_user')");
  });

  test.each([[''], ['_app'], ['1app'], ['app-user'], ['app user'], ['mysql.sys'], ['mariadb.sys'], ['app"; DROP']])('%p is not a valid name', name => {
    expect(userNameProblem(name, 'postgresql')).toMatch(/^is not a valid database user name: /);
  });

  test('a name in capitals must be written in lowercase', () => {
    expect(userNameProblem('Reporting', 'mysql')).toBe(
      "must be lowercase: the IAM token, the rds-db:connect grant and the database must spell the user the same way; use 'reporting'");
  });

  test.each([
    ['postgres', 'app_postgres'], ['root', 'app_root'], ['admin', 'app_admin'], ['rdsadmin', 'app_rdsadmin'], ['rdsproxyadmin', 'app_rdsproxyadmin'],
    ['rds_iam', 'app_rds_iam'], ['rds_superuser', 'app_rds_superuser'], ['mysql', 'app_mysql'], ['public', 'app_public'], ['pg_monitor', 'app_monitor'],
  ])('%s is reserved on both engines', (name, suggestion) => {
    for (const engine of ['postgresql', 'mysql'] as const) {
      expect(userNameProblem(name, engine)).toBe(`is a name that the engine or RDS reserves or uses as its default: choose another name, e.g. '${suggestion}'`);
    }
  });
});
