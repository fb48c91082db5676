/**
 * Jest globalSetup: installs the database servers that integration tests run
 * (PgBouncer, MariaDB) before any test worker starts, so workers never race
 * on dpkg. Costs a few file checks when they are already installed.
 */
import { ensureAptPackages, findBinary } from './apt';

const SERVER_PACKAGES = [
  { aptPackage: 'pgbouncer', binaries: ['pgbouncer'] },
  { aptPackage: 'mariadb-server', binaries: ['mariadbd', 'mariadb-install-db'] },
];

export default function globalSetup(): void {
  const missing = SERVER_PACKAGES
    .filter(({ binaries }) => !binaries.every(binary => findBinary(binary)))
    .map(({ aptPackage }) => aptPackage);
  if (missing.length === 0) return;
  const started = Date.now();
  process.stderr.write(`\nInstalling ${missing.join(', ')} for the database tests (once per machine)...\n`);
  ensureAptPackages(missing);
  process.stderr.write(`Installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
