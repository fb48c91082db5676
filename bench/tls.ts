/**
 * The certificate the benchmark's servers present (PgBouncer in the storm,
 * PostgreSQL and MariaDB in the cold start): self-signed for 127.0.0.1 and
 * localhost,
 * which the clients trust through NODE_EXTRA_CA_CERTS and verify as the
 * runtime verifies RDS Proxy's (host name included).
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { ensureAptPackages, findBinary } from '../test/support/apt';

export interface TlsFiles {
  readonly certificateFile: string;
  readonly keyFile: string;
}

/**
 * Writes an ECDSA P-256 certificate and key for 127.0.0.1 and localhost into `directory`
 * with openssl (installed with apt as root when missing). ECDSA keeps the
 * handshake cheap, above all for single-threaded PgBouncer, where an RSA signature per
 * login would cost it about a millisecond; RDS Proxy spreads its handshakes
 * over its own fleet.
 */
export function createLoopbackCertificate(directory: string): TlsFiles {
  if (!findBinary('openssl')) ensureAptPackages(['openssl']);
  const certificateFile = path.join(directory, 'loopback.crt');
  const keyFile = path.join(directory, 'loopback.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certificateFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certificateFile, keyFile };
}
