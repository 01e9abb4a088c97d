// The server's TLS certificate (docs/protocol.md "TLS"): read from --tls-cert/--tls-key, or made once with the
// openssl binary (--tls) and kept in the data dir, so that its fingerprint, which clients pin, stays the same.

import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A certificate and its private key, in PEM. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/**
 * Days a made certificate is valid. Clients pin it (or are given it as their CA) rather than renew it, and a new
 * certificate makes every pinning client refuse the server: it should outlive the server.
 */
const SELF_SIGNED_DAYS = 36500;

/** The SHA-256 fingerprint as `AB:CD:…`: what `chat` shows and pins, and what `openssl x509 -fingerprint -sha256` prints. */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Read a certificate and its key; fails in words when either is missing, is not PEM, or they do not match. */
export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the TLS ${what} ${file}: ${(error as Error).message}`, { cause: error });
    }
  };
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`${certFile} is not a PEM certificate`, { cause: error });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new Error(`${keyFile} is not a PEM private key (without a passphrase)`, { cause: error });
  }
  if (!x509.checkPrivateKey(privateKey)) throw new Error(`the key ${keyFile} is not the key of the certificate ${certFile}`);
  return { cert, key };
}

/**
 * The self-signed certificate kept in `dir` (cert.pem, key.pem with mode 0600), made with openssl the first time.
 * `created` says whether it was made now.
 */
export async function selfSigned(dir: string): Promise<TlsMaterial & { created: boolean }> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    return { ...readTlsFiles(certFile, keyFile), created: false };
  } catch (error) {
    // Made only when there is none: a certificate that is there but unreadable is the server's identity, not replaced.
    if ((error as { cause?: NodeJS.ErrnoException }).cause?.code !== 'ENOENT') throw error;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(dir, '.new-'));
  try {
    const names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...(/^[a-z0-9.-]+$/i.test(hostname()) ? [`DNS:${hostname()}`] : [])];
    // EC P-256: made in milliseconds, and every TLS client knows it.
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), '-days', String(SELF_SIGNED_DAYS),
      '-subj', '/CN=chat-server', '-addext', `subjectAltName=${names.join(',')}`,
    ]);
    chmodSync(join(work, 'key.pem'), 0o600);
    // The key first: a certificate on disk always has its key beside it.
    renameSync(join(work, 'key.pem'), keyFile);
    renameSync(join(work, 'cert.pem'), certFile);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'making a TLS certificate needs the openssl binary (apt-get install openssl); or give --tls-cert and --tls-key'
        : `openssl could not make a TLS certificate in ${dir}: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ...readTlsFiles(certFile, keyFile), created: true };
}

/** A self-signed certificate for this run only (--memory): made in a temporary directory, which is removed. */
export async function temporarySelfSigned(): Promise<TlsMaterial> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-server-tls-'));
  try {
    const { cert, key } = await selfSigned(dir);
    return { cert, key };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TlsFlags {
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

/**
 * What `--tls`, `--tls-cert` and `--tls-key` ask for: the given files, else (--tls) the certificate kept in
 * `<dataDir>/tls` (or one for this run when `dataDir` is null), else null (plain TCP only). `where` names it for the log.
 */
export async function tlsFromFlags(
  flags: TlsFlags,
  dataDir: string | null,
): Promise<(TlsMaterial & { fingerprint: string; where: string; created: boolean }) | null> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  let material: TlsMaterial & { created: boolean; where: string };
  if (flags.tlsCert !== undefined) {
    material = { ...readTlsFiles(flags.tlsCert, flags.tlsKey!), created: false, where: flags.tlsCert };
  } else if (!flags.tls) {
    return null;
  } else if (dataDir === null) {
    material = { ...(await temporarySelfSigned()), created: true, where: 'memory (--memory: a new one each start)' };
  } else {
    const dir = join(dataDir, 'tls');
    material = { ...(await selfSigned(dir)), where: join(dir, 'cert.pem') };
  }
  return { ...material, fingerprint: fingerprint(material.cert) };
}
