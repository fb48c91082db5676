import * as fs from 'fs';

/**
 * This process's peak resident memory in KiB: VmHWM from /proc/self/status.
 * Not process.resourceUsage().maxRSS on Linux: ru_maxrss survives exec, so a
 * fresh process spawned by a bigger one would report its parent's peak.
 * Falls back to maxRSS where /proc is missing.
 */
export function peakResidentKb(): number {
  const status = fs.existsSync('/proc/self/status') ? fs.readFileSync('/proc/self/status', 'utf8') : '';
  const highWaterMark = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  return highWaterMark ? Number(highWaterMark[1]) : process.resourceUsage().maxRSS;
}
