// One node's room rules in SQLite: `rooms.sqlite` in the data dir (or memory without one), one row per room that
// was ever run, its rules as JSON. Who is away lives in memory, by nick and principal (handlers/away.ts).

import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { nickKey } from '../../protocol/index.js';
import { GUESTS_REMEMBERED, RulesCache, type AwayMark, type ModerationStore } from '../state/moderation-store.js';
import { emptyRules, pruned, type RoomRules } from '../state/room-rules.js';

/** Senders remembered as told an away message, per nick. */
const AWAY_TOLD_MAX = 10_000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS room_rules (room TEXT PRIMARY KEY, rules TEXT NOT NULL)`;

/** Rooms found without rules, so that joining one asks SQLite once, not on every join; all forgotten past this. */
const WITHOUT_RULES_MAX = 10_000;

export class SqliteModerationStore implements ModerationStore {
  private readonly db: Database.Database;
  private readonly cache = new RulesCache();
  private readonly guests = new Map<string, string>();
  private readonly away = new Map<string, AwayMark & { told: Set<string> }>();
  private readonly withoutRules = new Set<string>();
  private readonly selectRules: Database.Statement;

  /** `path` null: in memory, gone when the server stops. */
  constructor(path: string | null) {
    if (path !== null) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path ?? ':memory:');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.selectRules = this.db.prepare('SELECT rules FROM room_rules WHERE room = ?');
  }

  cached(room: string): RoomRules | null | undefined {
    return this.cache.get(room);
  }

  load(room: string): RoomRules | null {
    const cached = this.cache.get(room);
    if (cached) return cached;
    if (this.withoutRules.has(room)) return null;
    const row = this.selectRules.get(room) as { rules: string } | undefined;
    const rules = row ? (JSON.parse(row.rules) as RoomRules) : null;
    this.cache.set(room, rules);
    if (!rules) {
      if (this.withoutRules.size >= WITHOUT_RULES_MAX) this.withoutRules.clear();
      this.withoutRules.add(room);
    }
    return rules;
  }

  async update(room: string, change: (rules: RoomRules) => RoomRules | null): Promise<RoomRules | null> {
    const present = this.load(room);
    const next = change(pruned(present ?? emptyRules()));
    if (!next) return present;
    const stored = { ...next, version: (present?.version ?? 0) + 1 };
    this.db.prepare('INSERT INTO room_rules (room, rules) VALUES (?, ?) ON CONFLICT (room) DO UPDATE SET rules = excluded.rules').run(room, JSON.stringify(stored));
    this.cache.set(room, stored);
    this.withoutRules.delete(room);
    return stored;
  }

  adopt(room: string, rules: RoomRules): void {
    this.withoutRules.delete(room);
    this.cache.adopt(room, rules);
  }

  rememberGuest(principal: string, address: string): void {
    this.guests.delete(principal);
    this.guests.set(principal, address);
    if (this.guests.size > GUESTS_REMEMBERED) this.guests.delete(this.guests.keys().next().value!);
  }

  guestAddress(principal: string): string | null {
    return this.guests.get(principal) ?? null;
  }

  setAway(nick: string, principal: string, message: string): void {
    this.away.set(nickKey(nick), { principal, message, told: new Set() });
  }

  clearAway(nick: string, principal: string): void {
    if (this.away.get(nickKey(nick))?.principal === principal) this.away.delete(nickKey(nick));
  }

  awayOf(nicks: string[]): (AwayMark | null)[] {
    if (this.away.size === 0) return nicks.map(() => null);
    return nicks.map((nick) => this.away.get(nickKey(nick)) ?? null);
  }

  awayNews(nick: string, principal: string, sender: string): string | null {
    const away = this.away.get(nickKey(nick));
    if (!away || away.principal !== principal || away.told.has(sender)) return null;
    // Bounded: past this many senders, some may be told twice.
    if (away.told.size >= AWAY_TOLD_MAX) away.told.clear();
    away.told.add(sender);
    return away.message;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
