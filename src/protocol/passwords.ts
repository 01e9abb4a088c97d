// Password rules (docs/protocol.md "Accounts"), shared by the server and the client.

/** Shorter passwords fall to a guess; 8 is the least NIST SP 800-63B allows for a chosen one. */
export const PASSWORD_MIN_CHARS = 8;
/** Hashing costs the same whatever the length, but a megabyte "password" is no password: capped. */
export const PASSWORD_MAX_CHARS = 1024;

/** Why `password` cannot be a new password, or null when it can. Never quotes the password. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_CHARS) return `a password has at least ${PASSWORD_MIN_CHARS} characters`;
  if (length > PASSWORD_MAX_CHARS) return `a password has at most ${PASSWORD_MAX_CHARS} characters`;
  return null;
}
