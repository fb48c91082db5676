/**
 * The ceilings: pgbench running the statement GET /items runs, on the same
 * server and machine, with as many clients as the proxy pool has
 * connections, either keeping every connection for the whole run (what warm
 * reuse can reach) or opening a new one for every transaction (`--connect`,
 * the same work as a storm of cold invocations: log in, one statement, leave).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { ensureAptPackages } from '../../test/support/apt';
import { findPgbench, PGBENCH_PACKAGE } from '../../test/support/pgbench';
import { LocalEndpoint } from '../../test/support/settings';

const execFileAsync = promisify(execFile);

/**
 * GET /items with its default limit, as items.ts sends it: the limit as a
 * parameter of an unnamed statement. `-M extended` sends exactly that
 * (parse, bind, execute for every call), as pg does for a query with values
 * and no name; `-M prepared` would skip the parse, which the runtime never
 * does (named statements pin RDS Proxy connections).
 */
export const LIST_ITEMS_SCRIPT = '\\set limit 20\nSELECT id, name, created_at FROM items ORDER BY id DESC LIMIT :limit;\n';
const PROTOCOL = 'extended';
const THREADS = 2;

export interface PgbenchRun {
  /** A new connection for every transaction (`--connect`). */
  readonly reconnect: boolean;
  readonly clients: number;
  readonly seconds: number;
  readonly transactions: number;
  /** Transactions per second: without the initial connection time, or with reconnect including every connection's. */
  readonly tps: number;
  readonly latencyAverageMillis: number;
}

/** The newest installed pgbench, installing Debian's package as root when none is there. */
export function requirePgbench(): string {
  const found = findPgbench();
  if (found) return found;
  ensureAptPackages([PGBENCH_PACKAGE]);
  const installed = findPgbench();
  if (!installed) throw new Error(`pgbench not found under /usr/lib/postgresql/*/bin even after installing ${PGBENCH_PACKAGE}`);
  return installed;
}

export interface PgbenchOptions {
  /** A new connection for every transaction (`--connect`). */
  readonly reconnect: boolean;
  /** Connect with TLS (`sslmode=require`). */
  readonly tls: boolean;
}

/** Runs pgbench for `seconds` with `clients` clients (the script written into `workDir`). */
export async function runPgbench(
  binary: string, endpoint: LocalEndpoint, database: string, clients: number, seconds: number, workDir: string, options: PgbenchOptions,
): Promise<PgbenchRun> {
  const script = path.join(workDir, 'list-items.sql');
  fs.writeFileSync(script, LIST_ITEMS_SCRIPT);
  const args = [
    '--no-vacuum', `--protocol=${PROTOCOL}`, `--client=${clients}`, `--jobs=${Math.min(THREADS, clients)}`, `--time=${seconds}`, `--file=${script}`,
    ...options.reconnect ? ['--connect'] : [],
    `--host=${endpoint.host}`, `--port=${endpoint.port}`, `--username=${endpoint.user}`, database,
  ];
  // The password goes in the environment, never on the command line (which other processes can read).
  const env = { ...process.env, PGPASSWORD: endpoint.password, PGSSLMODE: options.tls ? 'require' : 'disable' };
  const { stdout } = await execFileAsync(binary, args, { env, timeout: (seconds + 60) * 1000 });
  return {
    reconnect: options.reconnect,
    clients,
    seconds,
    transactions: matchNumber(stdout, /number of transactions actually processed: (\d+)/),
    tps: matchNumber(stdout, /tps = ([\d.]+) \((?:without initial connection time|including reconnection times)\)/),
    latencyAverageMillis: matchNumber(stdout, /latency average = ([\d.]+) ms/),
  };
}

function matchNumber(output: string, pattern: RegExp): number {
  const match = pattern.exec(output);
  if (!match) throw new Error(`pgbench output lacks ${pattern}:\n${output.slice(-2_000)}`);
  return Number(match[1]);
}
