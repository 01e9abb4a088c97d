// TLS for every connection the client opens (docs/protocol.md "TLS"). Either the server's certificate is checked
// as usual against a CA the user trusts (--tls-ca), or, as ssh does with host keys, it is pinned by its SHA-256
// fingerprint in known_servers on the first connection and any other certificate is refused afterwards. Nothing is
// sent before the check has passed.

import { t } from '../text/i18n/index.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import type tls from 'node:tls';
import { ClientError } from './errors.js';
import { addPin, findPin, serverKey } from './known-servers.js';

export interface TlsSettings {
  /** A PEM file of the CA (or the very certificate) to verify the server with; unset: pin the certificate. */
  caFile?: string;
  /** The known_servers file where certificates are pinned. */
  knownServers: string;
  /** A server seen for the first time was pinned: `note` says so with its fingerprint, for the user to check. */
  onPinned?(note: string): void;
}

/** Start a TLS connection to host:port; it is ready, and must be checked with checkServer(), on 'secureConnect'. */
export function connectTls(host: string, port: number, settings: TlsSettings): tls.TLSSocket {
  const ca = settings.caFile === undefined ? undefined : readCa(settings.caFile);
  // node:tls (and node:crypto with it) is loaded by the first TLS connection: a plain connection's start does
  // without it (issue 18).
  return (createRequire(import.meta.url)('node:tls') as typeof tls).connect({
    host,
    port,
    // SNI takes names only; the certificate is still checked against an address.
    ...(net.isIP(host) ? {} : { servername: host }),
    ...(ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
  });
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ClientError('bad_config', t('tls.cannotReadCa', { file, why: (error as Error).message }));
  }
}

/**
 * After the handshake: with a CA, Node has verified the certificate already. Otherwise compare its fingerprint with
 * the one pinned for host:port (pinning it on the first connection); a different one throws `tls_untrusted`.
 */
export function checkServer(socket: tls.TLSSocket, host: string, port: number, settings: TlsSettings): void {
  if (settings.caFile !== undefined) return;
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  const key = serverKey(host, port);
  const file = settings.knownServers;
  const pin = findPin(file, key);
  if (!pin) {
    addPin(file, key, fingerprint);
    settings.onPinned?.(t('tls.pinned', { key, fingerprint, file }));
    return;
  }
  if (pin.fingerprint === fingerprint.toUpperCase()) return;
  throw new ClientError('tls_untrusted', t('tls.changed', { key, fingerprint, line: pin.line, file, pinned: pin.fingerprint }));
}

/** A failed TLS connection in words, when TLS is why; null for the errors plain TCP has too. */
export function describeTlsFailure(host: string, port: number, error: NodeJS.ErrnoException, settings: TlsSettings): ClientError | null {
  const where = serverKey(host, port);
  const code = error.code ?? '';
  if (/CERT|SIGNATURE|ISSUER|SELF_SIGNED|ALTNAME/.test(code)) {
    return new ClientError(
      'tls_untrusted',
      t('tls.untrustedCa', { where, ca: settings.caFile ?? '', why: error.message }),
      { cause: error },
    );
  }
  if (code.startsWith('ERR_SSL') || code === 'ETIMEDOUT' || code === 'ECONNRESET') {
    // OpenSSL's message carries its source file and line; its `reason` is the part meant for people.
    const reason = (error as { reason?: string }).reason ?? error.message;
    return new ClientError(
      'connect_failed',
      t('tls.noTls', { where, reason }),
      { cause: error },
    );
  }
  return null;
}
