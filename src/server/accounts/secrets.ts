// Passwords and login tokens: hashed before they are kept, compared in constant time, never logged.
//
// Passwords: scrypt (memory-hard, in node:crypto) with N=2^14, r=8, p=1: 16 MiB and some 50 ms per hash, the
// parameters scrypt's author gives for interactive logins. OWASP's first choice costs 128 MiB per login: we take
// less memory per login, so that a burst of logins cannot exhaust a small server, and throttle guesses instead
// (throttle.ts). The parameters are stored with each hash: they can be raised later without breaking old hashes.
// Tokens: 32 random bytes; the server keeps their sha256 (a token is as random as a key: no slow hash needed).

import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  const maxmem = 256 * options.N! * options.r! + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { ...options, maxmem }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$key` (base64url), for storing. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A hash that matches no password, checked when the account does not exist: a miss takes as long as a hit. */
let decoy: Promise<string> | null = null;

/** Whether `password` is the one `stored` was made from; with no stored hash, false after the same work. */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const against = stored ?? (await (decoy ??= hashPassword(randomBytes(16).toString('hex'))));
  const [scheme, n, r, p, salt, key] = against.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return stored !== undefined && actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A new login token: 256 random bits. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** How a token is kept: its sha256, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new account id: 128 random bits, never reused. */
export function newAccountId(): string {
  return randomBytes(16).toString('hex');
}
