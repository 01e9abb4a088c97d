// Limits per address (docs/protocol.md "Limits and flow control"): one host must not take the server's connections
// by itself, nor dodge flood control by reconnecting or by spreading its lines over many connections.
// An address is one IPv4 address, or an IPv6 /64 (a host there usually holds a whole /64).

import net from 'node:net';
import { ByeCode } from '../protocol/index.js';
import type { ServerConfig } from './config.js';
import { TokenBucket } from './rate-limit.js';

const MAX_BAN_MS = 10 * 60_000;
/** A kick this long ago no longer makes the next ban longer. */
const FORGIVE_MS = 10 * 60_000;

/** The key of the address a connection comes from: IPv4 as it is, IPv6 by its /64, anything else as given. */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'stream';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (net.isIPv4(ip)) return ip;
  if (!net.isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface Refusal {
  code: ByeCode;
  reason: string;
}

/** A connection's place in its address's allowance, taken once at the door it came in by, or why it had none. */
export type Admission = { limits: AddressLimits } | { refusal: Refusal };

/** What one address has: its open connections, the buckets its connections and lines draw from, its ban. */
export class AddressLimits {
  connections = 0;
  private readonly connects: TokenBucket;
  private readonly lines: TokenBucket;
  private bannedUntil = 0;
  private kicks = 0;
  private lastKickAt = 0;

  constructor(
    readonly key: string,
    private readonly config: ServerConfig,
  ) {
    const { connectRatePerAddress, maxConnectionsPerAddress, rateLimitPerAddress } = config;
    this.connects = new TokenBucket(connectRatePerAddress, Math.max(1, maxConnectionsPerAddress || connectRatePerAddress));
    this.lines = new TokenBucket(rateLimitPerAddress, rateLimitPerAddress * 2);
  }

  /** Why a new connection from here is refused, or null when it may come in (it then counts). */
  admit(now = Date.now()): Refusal | null {
    if (now < this.bannedUntil) {
      const seconds = Math.ceil((this.bannedUntil - now) / 1000);
      return { code: ByeCode.throttled, reason: `this address was flooding; it may connect again in ${seconds} s` };
    }
    const { maxConnectionsPerAddress: max } = this.config;
    if (max > 0 && this.connections >= max) {
      return { code: ByeCode.too_many_connections, reason: `at most ${max} connections from one address` };
    }
    if (!this.connects.take()) {
      return { code: ByeCode.throttled, reason: `at most ${this.config.connectRatePerAddress} new connections a second from one address` };
    }
    this.connections++;
    return null;
  }

  release(): void {
    this.connections--;
  }

  /** A line from one of this address's connections: false when the address as a whole is over its rate. */
  takeLine(): boolean {
    return this.lines.take();
  }

  /** A connection from here was cut off for flooding: no new one for a while, longer each time. */
  flooded(now = Date.now()): void {
    const { floodBanMs } = this.config;
    if (floodBanMs <= 0) return;
    if (now - this.lastKickAt > FORGIVE_MS) this.kicks = 0;
    this.lastKickAt = now;
    this.kicks++;
    this.bannedUntil = Math.max(this.bannedUntil, now + Math.min(MAX_BAN_MS, floodBanMs * 2 ** (this.kicks - 1)));
  }

  /** Nothing here worth keeping: no connection, no ban, no kick to remember, the connect bucket full again. */
  idle(now: number): boolean {
    return (
      this.connections === 0 &&
      now >= this.bannedUntil &&
      now - this.lastKickAt > FORGIVE_MS &&
      now - this.connects.lastUsedAt > 1000 * Math.max(1, this.config.maxConnectionsPerAddress) / Math.max(1, this.config.connectRatePerAddress)
    );
  }
}

export class AddressBook {
  private readonly addresses = new Map<string, AddressLimits>();

  constructor(private readonly config: ServerConfig) {}

  get(ip: string | undefined): AddressLimits {
    const key = addressKey(ip);
    let limits = this.addresses.get(key);
    if (!limits) {
      limits = new AddressLimits(key, this.config);
      this.addresses.set(key, limits);
    }
    return limits;
  }

  /** Forget addresses with nothing to remember. */
  sweep(now = Date.now()): void {
    for (const [key, limits] of this.addresses) if (limits.idle(now)) this.addresses.delete(key);
  }
}
