/**
 * What the throwaway database servers for tests (postgres.ts,
 * system-postgres.ts, pgbouncer.ts, mariadb.ts) share: their folders under
 * the project's `.tmp/`, private files in them, free ports, the system users
 * they run as when tests run as root, and a guarded child process that never
 * outlives the test process.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const TMP_ROOT = path.join(PROJECT_ROOT, '.tmp');
export const HOST = '127.0.0.1';

const LOG_TAIL_CHARS = 8_000;
const READY_POLL_MILLIS = 100;

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Creates `.tmp/`; as root, lets the system users that run the servers
 * traverse it and checks that they can reach it.
 */
export function prepareTmpRoot(): void {
  fs.mkdirSync(TMP_ROOT, { recursive: true });
  if (!isRoot()) return;
  const mode = fs.statSync(TMP_ROOT).mode;
  if ((mode & 0o001) === 0) fs.chmodSync(TMP_ROOT, (mode & 0o7777) | 0o001);
  for (let dir = path.dirname(TMP_ROOT); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) {
      throw new Error(`running as root, the database servers run as system users, who cannot enter ${dir}; allow them (chmod o+x)`);
    }
    if (dir === path.dirname(dir)) break;
  }
}

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The ids of a system user (such as `postgres` or `mysql`), which must exist. */
export function systemUser(name: string): SystemUser {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

/** Writes a file only its owner (`owner`, or this process) can read. */
export function writePrivateFile(file: string, content: string | Buffer, owner: SystemUser | undefined): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  if (owner) fs.chownSync(file, owner.uid, owner.gid);
}

/** Copies `source` to `target`, readable by its owner only; returns `target`. */
export function copyPrivateFile(source: string, target: string, owner: SystemUser | undefined): string {
  writePrivateFile(target, fs.readFileSync(source), owner);
  return target;
}

/** A fresh folder under `.tmp/` named after `prefix`, owned by `owner` when given. */
export function makeServerDir(prefix: string, owner?: SystemUser): string {
  prepareTmpRoot();
  const dir = fs.mkdtempSync(path.join(TMP_ROOT, `${prefix}-`));
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** Resolves to the value of `promise`, or undefined once `millis` have passed. */
export async function within<T>(promise: Promise<T>, millis: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>(resolve => { timer = setTimeout(() => resolve(undefined), millis); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function kill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Runs the server and forwards signals to it. Closing its stdin (which the
 * operating system does when the test process dies, however it dies) stops
 * the server and removes its folder, so no server outlives the tests.
 */
const GUARDIAN = String.raw`
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');

const spec = JSON.parse(process.env.TEST_SERVER_SPEC);
const server = spawn(spec.command, spec.args, { stdio: ['ignore', 'inherit', 'inherit'], uid: spec.uid, gid: spec.gid });
let abandoned = false;

server.on('error', error => {
  process.stderr.write(String(error) + '\n');
  process.exit(127);
});
server.on('exit', (code, signal) => {
  if (abandoned) fs.rmSync(spec.cleanupDir, { recursive: true, force: true });
  process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0));
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT']) process.on(signal, () => server.kill(signal));

function abandon() {
  if (abandoned) return;
  abandoned = true;
  server.kill('SIGTERM');
  setTimeout(() => server.kill('SIGKILL'), spec.stopTimeoutMillis).unref();
}
process.stdin.on('end', abandon);
process.stdin.on('error', abandon);
process.stdin.resume();
`;

export interface GuardedProcessOptions {
  readonly command: string;
  readonly args: string[];
  /** Run the server as this user (only possible as root). */
  readonly user?: SystemUser;
  /** Removed when the test process dies without stopping the server. */
  readonly cleanupDir: string;
  /** Copy server output to stderr when this environment variable is set. */
  readonly debugVariable: string;
  /** How long a stop may take before the server is killed. */
  readonly stopTimeoutMillis: number;
}

/** A server run by the guardian; the guardian lives exactly as long as the server. */
export class GuardedProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private hasExited = false;
  private outputTail = '';

  constructor(private readonly options: GuardedProcessOptions) {
    const spec = {
      command: options.command,
      args: options.args,
      uid: options.user?.uid,
      gid: options.user?.gid,
      cleanupDir: options.cleanupDir,
      stopTimeoutMillis: options.stopTimeoutMillis,
    };
    // Its own process group, so a last-resort kill reaches the server too.
    this.child = spawn(process.execPath, ['--eval', GUARDIAN], {
      env: { ...process.env, TEST_SERVER_SPEC: JSON.stringify(spec) },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise(resolve => this.child.once('close', () => {
      this.hasExited = true;
      resolve();
    }));
    this.child.stdin!.on('error', () => undefined); // EPIPE if the guardian is already gone
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        if (process.env[options.debugVariable]) process.stderr.write(chunk);
        this.outputTail = (this.outputTail + chunk).slice(-LOG_TAIL_CHARS);
      });
    }
  }

  /** The last few kilobytes of what the server printed. */
  get output(): string {
    return this.outputTail;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /**
   * Calls `probe` until it succeeds (the server accepts connections). Throws
   * when the server exits first, prints something matching `fatalOutput`
   * (a failure it would survive without ever becoming ready) or
   * `timeoutMillis` pass.
   */
  async waitUntilReady(probe: () => Promise<void>, timeoutMillis: number, serverName: string, fatalOutput?: RegExp): Promise<void> {
    const deadline = Date.now() + timeoutMillis;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (this.hasExited || fatalOutput?.test(this.outputTail)) {
        throw new Error(`${serverName} failed before it accepted connections\n--- server output ---\n${this.outputTail}`);
      }
      try {
        await probe();
        return;
      } catch (error) {
        lastError = error;
      }
      await within(this.exited, READY_POLL_MILLIS);
    }
    const reason = lastError instanceof Error ? lastError.message : String(lastError);
    throw new Error(`${serverName} did not accept connections within ${timeoutMillis} ms (${reason})\n--- server output ---\n${this.outputTail}`);
  }

  /** Sends `signal` to the server and waits until it has exited; kills it if it takes too long. */
  async terminate(signal: NodeJS.Signals): Promise<void> {
    if (this.hasExited) return;
    this.child.kill(signal);
    await this.waitOrKill();
  }

  /** Stops the server the way a dying test process would: closing the guardian's stdin. */
  async abandon(): Promise<void> {
    this.child.stdin!.end();
    await this.waitOrKill();
  }

  private async waitOrKill(): Promise<void> {
    if (await within(this.exited.then(() => true), this.options.stopTimeoutMillis + 5_000)) return;
    kill(-this.child.pid!, 'SIGKILL');
    await within(this.exited, 5_000);
  }
}

/** How often a server start is tried on a new port when the chosen one was taken meanwhile. */
const START_ATTEMPTS = 3;

/**
 * Starts a server on a free port and returns the port. `start` launches it
 * on the port and resolves once it accepts connections; when it fails because
 * another process took the port between `freePort()` and the start (the
 * server's output matches `portTaken`), the server is stopped and the start
 * tried again on a new port.
 */
export async function startOnFreePort(
  start: (port: number) => Promise<void>,
  server: () => GuardedProcess | undefined,
  portTaken: RegExp,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await start(port);
      return port;
    } catch (error) {
      await server()?.terminate('SIGTERM');
      if (attempt >= START_ATTEMPTS || !portTaken.test(server()?.output ?? '')) throw error;
    }
  }
}

/** Stops the server (if one was started) and deletes its folder, once however often `stop` is called. */
export function stopOnce(server: () => GuardedProcess | undefined, dir: string): { stop(): Promise<void>; stopped(): boolean } {
  let stopping: Promise<void> | undefined;
  return {
    stop: () => {
      stopping ??= (async () => {
        await server()?.abandon();
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
    stopped: () => stopping !== undefined,
  };
}
