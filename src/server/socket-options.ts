// TCP_NODELAY and keepalive for every client connection. Linux copies both from the listening socket to each socket
// it accepts, so there they are set once on the listener: per connection they were five system calls (a 10 000-join
// storm's 3%). Elsewhere, and in a node:cluster worker that accepts nothing itself (round robin: no such handle),
// they are set on each connection.

import type net from 'node:net';

/** TCP keepalive's first probe after this much silence (the chat's own pings reach a silent client sooner). */
const KEEPALIVE_MS = 60_000;

interface TcpHandle {
  setNoDelay(on: boolean): void;
  setKeepAlive(on: boolean, delaySeconds: number): void;
}

export function setOnEach(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEPALIVE_MS);
}

/** Once `listener` listens: what each accepted connection still needs done (nothing where it inherits both). */
export function clientSocketOptions(listener: net.Server): (socket: net.Socket) => void {
  const handle = (listener as unknown as { _handle?: Partial<TcpHandle> | null })._handle;
  if (process.platform !== 'linux' || typeof handle?.setNoDelay !== 'function' || typeof handle.setKeepAlive !== 'function') return setOnEach;
  handle.setNoDelay(true);
  handle.setKeepAlive(true, KEEPALIVE_MS / 1000);
  return inherited;
}

function inherited(): void {}
