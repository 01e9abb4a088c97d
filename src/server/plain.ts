// --plain loopback: which plain (not TLS) connections may come in. Apart from tls.ts, so that a server without TLS
// does not load node:tls to ask.

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms; a stream without an address (in-process, tests) is local too. */
export function isLoopback(ip: string | undefined): boolean {
  if (!ip) return true;
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/i.exec(ip);
  if (v4) return v4[1] === '127';
  return ip === '::1';
}

/** Why a plain (not TLS) connection from `ip` is refused under `--plain loopback`; null when it may come in. */
export function plainRefusal(plain: 'on' | 'loopback', stream: object, ip: string | undefined): string | null {
  if (plain === 'on' || (stream as { encrypted?: boolean }).encrypted || isLoopback(ip)) return null;
  return 'plain TCP is accepted from this machine only: connect with TLS (chat --tls, or openssl s_client)';
}
