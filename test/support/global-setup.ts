/**
 * Jest globalSetup: checks that the tests run on Lambda's Node.js version and
 * installs the database servers and tools that integration
 * tests run (PgBouncer, MariaDB, pgbench for the storm benchmark's test,
 * python3 for the Python bindings' test) before any test worker starts, so
 * workers never race on dpkg. Costs a few file checks when they are already
 * installed.
 */
import { ensureAptPackages, findBinary } from './apt';
import { requireLambdaNode } from './lambda-node';
import { findPgbench, PGBENCH_PACKAGE } from './pgbench';

const SERVER_PACKAGES = [
  { aptPackage: 'pgbouncer', installed: () => Boolean(findBinary('pgbouncer')) },
  { aptPackage: 'mariadb-server', installed: () => Boolean(findBinary('mariadbd') && findBinary('mariadb-install-db')) },
  { aptPackage: PGBENCH_PACKAGE, installed: () => Boolean(findPgbench()) },
  // The storm benchmark's test makes a TLS certificate for PgBouncer with it.
  { aptPackage: 'openssl', installed: () => Boolean(findBinary('openssl')) },
  // The Python bindings' test compiles and reads the generated package with the standard library alone.
  { aptPackage: 'python3', installed: () => Boolean(findBinary('python3')) },
];

export default function globalSetup(): void {
  // The tests run the runtime, the handlers and the bootstrap, so they run where Lambda runs them.
  requireLambdaNode('The tests');
  const missing = SERVER_PACKAGES
    .filter(({ installed }) => !installed())
    .map(({ aptPackage }) => aptPackage);
  if (missing.length === 0) return;
  const started = Date.now();
  process.stderr.write(`\nInstalling ${missing.join(', ')} for the tests (once per machine)...\n`);
  ensureAptPackages(missing);
  process.stderr.write(`Installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
