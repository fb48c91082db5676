/**
 * pgbench, the load generator that ships with PostgreSQL's server package
 * on Debian (in /usr/lib/postgresql/<version>/bin; the wrapper on PATH needs
 * a configured cluster, so it is not used). Jest's globalSetup installs the
 * package when no pgbench is there; the benchmarks use the newest one.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Debian's package that ships pgbench. */
export const PGBENCH_PACKAGE = 'postgresql-15';

const POSTGRES_LIB = '/usr/lib/postgresql';

/** The pgbench of the newest PostgreSQL under /usr/lib/postgresql, if any. */
export function findPgbench(): string | undefined {
  const versions = fs.existsSync(POSTGRES_LIB) ? fs.readdirSync(POSTGRES_LIB).filter(name => /^\d+$/.test(name)) : [];
  return versions
    .sort((a, b) => Number(b) - Number(a))
    .map(version => path.join(POSTGRES_LIB, version, 'bin', 'pgbench'))
    .find(file => fs.existsSync(file));
}
