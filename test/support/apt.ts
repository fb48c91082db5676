/**
 * Installs Debian packages that tests need (database servers) when they are
 * missing. apt holds a machine-wide lock, so call this from Jest's
 * globalSetup only: parallel test workers calling it would race on dpkg.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** Server binaries live in sbin folders, which a non-root PATH often lacks. */
const EXTRA_BINARY_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

let listsUpdated = false;

/**
 * Installs those of `packages` that dpkg does not list as installed, running
 * `apt-get update` first (once per process). Throws when something is
 * missing and this process is not root, naming the command to run instead.
 */
export function ensureAptPackages(packages: string[]): void {
  const missing = packages.filter(name => !isInstalled(name));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`tests need the Debian packages ${missing.join(', ')}; install them as root: apt-get install -y ${missing.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!listsUpdated) {
    runApt(['update'], env);
    listsUpdated = true;
  }
  runApt(['install', '-y', '--no-install-recommends', ...missing], env);
}

/** The path of an executable named `name` on PATH or in an sbin folder, if any. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_BINARY_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Like findBinary, but throws a message that says how to get the binary. */
export function requireBinary(name: string, aptPackage: string): string {
  const found = findBinary(name);
  if (!found) throw new Error(`${name} not found; it comes with the Debian package ${aptPackage} (installed by the Jest globalSetup when run as root)`);
  return found;
}

function isInstalled(aptPackage: string): boolean {
  try {
    const status = execFileSync('dpkg-query', ['--show', '--showformat=${Status}', aptPackage], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return status.trim() === 'install ok installed';
  } catch {
    return false; // dpkg-query exits non-zero for packages it has never seen
  }
}

function runApt(args: string[], env: NodeJS.ProcessEnv): void {
  try {
    execFileSync('apt-get', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    const tail = `${stdout ?? ''}${stderr ?? ''}`.slice(-4_000);
    throw new Error(`apt-get ${args.join(' ')} failed:\n${tail}`);
  }
}
