// Certificates for the TLS tests, made with openssl in a temporary directory: self-signed ones as `chat-server
// --tls` makes them, and a CA with a certificate it signed for 127.0.0.1 and localhost.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { selfSigned, type TlsMaterial } from '../../src/server/tls-cert.js';

const openssl = (dir: string, ...args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new self-signed certificate (in a directory removed at the end of the test). */
export async function selfSignedCert(t: { teardown(fn: () => unknown): void }): Promise<TlsMaterial> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = await selfSigned(dir);
  return { cert, key };
}

/** A CA (its certificate in the file `caFile`) and a server certificate it signed for 127.0.0.1 and localhost. */
export async function caSignedCert(t: { teardown(fn: () => unknown): void }): Promise<TlsMaterial & { caFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-tls-ca-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await openssl(dir, 'req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=chat test CA');
  await openssl(dir, 'req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  return { cert: readFileSync(join(dir, 'server.pem'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8'), caFile: join(dir, 'ca.pem') };
}
