import * as fs from 'fs';
import * as os from 'os';

/** Where the numbers were taken. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  /** Instruction set, e.g. x64 (Lambda functions here are built for arm64). */
  readonly arch: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
}

/** This machine: CPU model and count, memory, distribution (from /etc/os-release on Linux) and Node.js version. */
export function describeMachine(): Machine {
  const cpus = os.cpus();
  let distribution = `${os.type()} ${os.release()}`;
  try {
    const release = fs.readFileSync('/etc/os-release', 'utf8');
    distribution = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? distribution;
  } catch {
    // not Linux: keep the kernel name
  }
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    arch: os.arch(),
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: distribution,
    node: process.version,
  };
}
