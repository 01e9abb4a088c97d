// TLS for every connection the client opens (docs/protocol.md "TLS"). Either the server's certificate is checked
// as usual against a CA the user trusts (--tls-ca), or, as ssh does with host keys, it is pinned by its SHA-256
// fingerprint in known_servers on the first connection and any other certificate is refused afterwards. Nothing is
// sent before the check has passed.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
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
  return tls.connect({
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
    throw new ClientError('bad_config', `cannot read the CA file ${file} (--tls-ca): ${(error as Error).message}`);
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
    settings.onPinned?.(
      `${key} is new: its TLS certificate, SHA-256 fingerprint ${fingerprint}, is now pinned in ${file}. ` +
        'Check it against the fingerprint chat-server logged when it started.',
    );
    return;
  }
  if (pin.fingerprint === fingerprint.toUpperCase()) return;
  throw new ClientError(
    'tls_untrusted',
    `the TLS certificate of ${key} has CHANGED: it now shows the SHA-256 fingerprint ${fingerprint}, but line ${pin.line} ` +
      `of ${file} pins ${pin.fingerprint}. Someone may be intercepting the connection, or the server has a new ` +
      'certificate. Check the fingerprint chat-server logged when it started ("TLS certificate SHA-256 fingerprint ..."); ' +
      `if the new one is right, remove line ${pin.line} (${key}) from ${file} and connect again to pin it.`,
  );
}

/** A failed TLS connection in words, when TLS is why; null for the errors plain TCP has too. */
export function describeTlsFailure(host: string, port: number, error: NodeJS.ErrnoException, settings: TlsSettings): ClientError | null {
  const where = serverKey(host, port);
  const code = error.code ?? '';
  if (/CERT|SIGNATURE|ISSUER|SELF_SIGNED|ALTNAME/.test(code)) {
    return new ClientError(
      'tls_untrusted',
      `the TLS certificate of ${where} is not trusted with --tls-ca ${settings.caFile ?? ''}: ${error.message}. ` +
        'Give the CA that signed it, or leave --tls-ca out to pin the certificate on first use instead.',
      { cause: error },
    );
  }
  if (code.startsWith('ERR_SSL') || code === 'ETIMEDOUT' || code === 'ECONNRESET') {
    // OpenSSL's message carries its source file and line; its `reason` is the part meant for people.
    const reason = (error as { reason?: string }).reason ?? error.message;
    return new ClientError(
      'connect_failed',
      `no TLS from ${where} (${reason}): is that chat-server started with --tls (or --tls-cert)? Without them, leave --tls out`,
      { cause: error },
    );
  }
  return null;
}
