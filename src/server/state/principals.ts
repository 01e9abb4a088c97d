// Who owns private things (docs/protocol.md "Private stays private"): a principal is an account (`a:<account id>`,
// shared by every connection logged in as it) or one guest connection (`g:<random key>`, its own, given to the
// connections attached to it, and never to whoever takes its nick later). Private files record the principals of
// their two parties; a nick held by an account's connections is held by several members of one principal.

const ACCOUNT = 'a:';

export const accountPrincipal = (accountId: string) => `${ACCOUNT}${accountId}`;
export const guestPrincipal = (guestKey: string) => `g:${guestKey}`;
export const isAccountPrincipal = (principal: string) => principal.startsWith(ACCOUNT);

/** Whether two members may hold one nick together: connections of the same account. */
export function sameAccount(a: { principal: string }, b: { principal: string }): boolean {
  return isAccountPrincipal(a.principal) && a.principal === b.principal;
}
