// The known_servers file, as ssh's known_hosts: one server a line, `host:port SHA256 <fingerprint>`, the
// fingerprint of the TLS certificate it showed the first time. Lines starting with # are comments.

import { appendFileSync, chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Pin {
  fingerprint: string;
  /** Its line in the file, from 1 (to say which line to remove). */
  line: number;
}

const HEADER =
  '# Servers chat has connected to over TLS, and the SHA-256 fingerprint of the certificate each showed first.\n' +
  '# chat refuses a server whose certificate changed; remove its line to accept the new one.\n';

/** How a server is written in the file: `host:port`, an IPv6 address in brackets, names in lower case. */
export function serverKey(host: string, port: number): string {
  return `${host.includes(':') ? `[${host.toLowerCase()}]` : host.toLowerCase()}:${port}`;
}

/** The fingerprint pinned for `key`, or undefined (also when there is no file yet). */
export function findPin(file: string, key: string): Pin | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const [server, kind, fingerprint] = lines[i]!.trim().split(/\s+/);
    if (server === key && kind === 'SHA256' && fingerprint) return { fingerprint: fingerprint.toUpperCase(), line: i + 1 };
  }
  return undefined;
}

/** Pin `fingerprint` for `key`: the file (and its folder) made when missing, readable by the user only. */
export function addPin(file: string, key: string, fingerprint: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let header = '';
  try {
    readFileSync(file);
  } catch {
    header = HEADER;
  }
  appendFileSync(file, `${header}${key} SHA256 ${fingerprint}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}
