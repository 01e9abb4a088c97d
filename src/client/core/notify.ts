// Notifications: which entries call for one (a mention or a private message, or every message with /notify all,
// while the terminal is not focused or another buffer is shown), the level of each buffer (kept in
// $XDG_CONFIG_HOME/chat/notify.json, per server), and the terminal escape that shows one (OSC 777 or OSC 9, wrapped
// for tmux). Pure, but for reading and writing the levels file.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { sanitizeLine } from '../text/sanitize.js';
import { truncateToWidth } from '../text/width.js';
import { t } from '../text/i18n/index.js';
import { readPerServer, writePerServer } from './per-server-file.js';
import type { ChatBuffer, Entry } from './state.js';

export type NotifyLevel = 'all' | 'mentions' | 'off';
export const DEFAULT_NOTIFY_LEVEL: NotifyLevel = 'mentions';

type Env = Record<string, string | undefined>;

/** $XDG_CONFIG_HOME/chat/notify.json, else ~/.config/chat/notify.json. */
export function notifyLevelsPath(env: Env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'chat', 'notify.json');
}

function isLevel(value: unknown): value is NotifyLevel {
  return value === 'all' || value === 'mentions' || value === 'off';
}

/**
 * The /notify level of each buffer of one server. The file is `{"host:port": {"test": "all", "@bob": "off"}}`;
 * without a file (or with path null) every buffer has the default, and /notify changes last for the session.
 */
export class NotifyLevels {
  private readonly levels = new Map<string, NotifyLevel>();

  constructor(
    private readonly path: string | null = null,
    private readonly server = '',
  ) {
    if (!path) return;
    const kept = readPerServer<Record<string, unknown>>(path)[server];
    for (const [key, level] of Object.entries(kept && typeof kept === 'object' ? kept : {})) if (isLevel(level)) this.levels.set(key, level);
  }

  level(bufferKey: string): NotifyLevel {
    return this.levels.get(bufferKey) ?? DEFAULT_NOTIFY_LEVEL;
  }

  /** Set a buffer's level and keep it; throws when the file cannot be written (the level holds for the session). */
  set(bufferKey: string, level: NotifyLevel): void {
    if (level === DEFAULT_NOTIFY_LEVEL) this.levels.delete(bufferKey);
    else this.levels.set(bufferKey, level);
    if (!this.path) return;
    const all = readPerServer<Record<string, NotifyLevel>>(this.path);
    all[this.server] = Object.fromEntries(this.levels);
    if (this.levels.size === 0) delete all[this.server];
    writePerServer(this.path, all);
  }
}

/** Whether `entry`, just added to `buffer`, calls for a notification. */
export function shouldNotify(
  level: NotifyLevel,
  buffer: ChatBuffer,
  entry: Entry,
  view: { focused: boolean; active: ChatBuffer },
): boolean {
  const talk = entry.kind === 'msg' || entry.kind === 'action' || entry.kind === 'file';
  if (!talk || entry.self || entry.history || level === 'off') return false;
  if (view.focused && view.active === buffer) return false;
  return level === 'all' || !!entry.mention || buffer.kind === 'private';
}

const TITLE_COLUMNS = 60;
const BODY_COLUMNS = 200;

/** Text for inside an OSC string: one line, no controls or escapes, no `;` (it separates OSC 777's fields). */
function oscSafe(text: string, columns: number): string {
  return truncateToWidth(sanitizeLine(text).replace(/[\x00-\x1f\x7f-\x9f]/g, ' ').replace(/;/g, ','), columns);
}

/** The title and body of the notification for `entry`: `alice in test` / `bob (private)`, and the text. */
export function notification(buffer: ChatBuffer, entry: Entry): { title: string; body: string } {
  const nick = entry.from ?? '';
  const title = buffer.kind === 'private' ? t('notify.privateTitle', { nick }) : t('notify.roomTitle', { nick, room: buffer.name });
  const body = entry.kind === 'action' || entry.kind === 'file' ? `* ${nick} ${entry.text}` : entry.text;
  return { title: oscSafe(title, TITLE_COLUMNS), body: oscSafe(body, BODY_COLUMNS) };
}

export type OscKind = '777' | '9';

/** Which escape the terminal understands: OSC 9 in iTerm2, WezTerm and ConEmu, else OSC 777 (VTE, foot, urxvt, kitty). */
export function oscKind(env: Env): OscKind {
  return /^(iTerm\.app|WezTerm)$/.test(env.TERM_PROGRAM ?? '') || env.ConEmuPID !== undefined ? '9' : '777';
}

/**
 * The escape that shows a notification, wrapped for tmux's passthrough (DCS tmux; with each ESC doubled) when inside
 * tmux (`set -g allow-passthrough on` lets it through to the terminal).
 */
export function notificationEscape(note: { title: string; body: string }, kind: OscKind, inTmux: boolean): string {
  const title = oscSafe(note.title, TITLE_COLUMNS);
  const body = oscSafe(note.body, BODY_COLUMNS);
  const osc = kind === '9' ? `\x1b]9;${title}: ${body}\x07` : `\x1b]777;notify;${title};${body}\x07`;
  return inTmux ? `\x1bPtmux;${osc.replace(/\x1b/g, '\x1b\x1b')}\x1b\\` : osc;
}
