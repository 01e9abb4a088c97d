// Helpers for the chat client's tests (test/client-*.test.ts): in-process servers, polling with a deadline,
// captured stdio for the CLI.

import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import type { Test } from 'tap';
import { ChatServer, type ServerOptions } from '../../src/server/server.js';
import { ChatClient, type ChatClientOptions } from '../../src/client/core/client.js';
import type { Io } from '../../src/client/cli/io.js';

/** A chat-server on 127.0.0.1 (port 0 unless given), closed at the end of the test. */
export async function serve(t: Test, options: ServerOptions = {}, port = 0): Promise<{ server: ChatServer; port: number }> {
  const server = new ChatServer(options);
  const address = await server.listen(port, '127.0.0.1');
  t.teardown(() => server.close());
  return { server, port: address.port };
}

/** A port with nothing listening on it. */
export async function freePort(): Promise<number> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  return port;
}

/** Poll `check` until it returns something truthy; fail with `what` after `ms`. */
export async function until<T>(check: () => T | undefined | null | false, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A started ChatClient, quit at the end of the test. */
export async function connectClient(
  t: Test,
  port: number,
  nick: string,
  rooms: string[],
  extra: Partial<ChatClientOptions> = {},
): Promise<ChatClient> {
  const client = new ChatClient({ host: '127.0.0.1', port, nick, rooms, onNickTaken: 'fail', ...extra });
  t.teardown(() => client.quit());
  await client.start();
  return client;
}

/** The texts of a buffer's messages, in order. */
export function texts(client: ChatClient, key: string): string[] {
  return (client.state.buffer(key)?.entries ?? []).filter((e) => e.kind === 'msg' || e.kind === 'action').map((e) => e.text);
}

export class Captured extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Stdio for main(): stdin a PassThrough (not a TTY), stdout and stderr captured. */
export function fakeIo(env: Record<string, string | undefined> = {}): Io & { stdin: PassThrough; stdout: Captured; stderr: Captured } {
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  return { stdin, stdout: new Captured(), stderr: new Captured(), env: { XDG_CONFIG_HOME: '/nonexistent', ...env } };
}
