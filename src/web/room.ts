// /chat/ROOM/: one room, talked to over /ws like any client (docs/protocol.md).

import { Connection, type Event } from './connection.js';
import { element, humanBytes, Log, progressLine } from './view.js';
import { Conversation, type Scope } from './conversation.js';
import { errorInWords, roomCommand } from './commands.js';

const UPLOAD_SLICE = 64 * 1024;
/** Bytes the socket may hold unsent during an upload before the next slice waits. */
const UPLOAD_WINDOW = 1024 * 1024;
/** Bye codes after which reconnecting cannot help. */
const FINAL_BYES = new Set(['quit', 'flood', 'throttled', 'too_many_connections']);

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const room = decodeURIComponent(location.pathname.split('/')[2] ?? '').toLowerCase();
const params = new URLSearchParams(location.search);
let wantedNick = params.get('nick')?.trim() ?? '';

const log = new Log(byId<HTMLOListElement>('log'));
const membersList = byId<HTMLUListElement>('members');
const status = byId<HTMLSpanElement>('status');
const banner = byId<HTMLDivElement>('banner');
const line = byId<HTMLInputElement>('line');
const transfers = byId<HTMLDivElement>('transfers');
const topicLine = byId<HTMLSpanElement>('topic');
const conversation = new Conversation();

byId('title').textContent = `#${room}`;
document.title = `#${room} · chat`;

let myNick = '';
/** The connection's attach token (its welcome): what lets this page fetch its private files. */
let token = '';
/** An account's login token, kept for this tab only: a reconnect logs in again with it, never with the password. */
const LOGIN_KEY = 'chat-login-token';
let loginToken = sessionStorage.getItem(LOGIN_KEY) ?? '';
/** A join was sent on this connection (and not refused): a later login need not send another. */
let joinAsked = false;
/** The last room seq seen: a reconnect asks only for what came after it. */
let lastSeq = 0;
/** The last seq seen in each private conversation, by the other party's nick: a reconnect asks for what came after. */
const privateSeen = new Map<string, number>();
/** Pages of 200 asked at most per private conversation after a reconnect (the TUI's bound, core/private-resume.ts). */
const RESUME_PAGES_MAX = 5;
const members = new Set<string>();
/** Of the members, the room's operators (marked `@`) and those away. */
const ops = new Set<string>();
const away = new Set<string>();
/** The room answered this connection's join (its members list): a topic from now on is a change, not the join's. */
let inRoom = false;
/** Kicked or banned, or refused at the door: no joining again by itself after a reconnect, only on /join. */
let stayOut = false;
/** Nicks an operator removed (until they join again): a `who` answered before their removal took hold omits them. */
const removed = new Set<string>();
/** The room's key, once typed with /join KEY. */
let roomKey = '';
let emoji: Record<string, string> = {};
void fetch('/chat/assets/emoji.json')
  .then((response) => response.json())
  .then((table: Record<string, string>) => (emoji = table))
  .catch(() => {});

function emojify(text: string): string {
  return text.replace(/:([a-z0-9_+-]+):/gi, (whole, name: string) => emoji[name.toLowerCase()] ?? whole);
}

// While an upload's bytes are going out, any other line would be taken for file bytes: lines wait for it.
let uploading: Promise<void> = Promise.resolve();
let sendingBytes = false;
const waitingLines: object[] = [];
function send(message: object): void {
  if (sendingBytes) waitingLines.push(message);
  else connection.send(message);
}

function drawMembers(): void {
  membersList.replaceChildren(
    // Operators first, as in the terminal's /who.
    ...[...members].sort((a, b) => Number(ops.has(b)) - Number(ops.has(a)) || a.localeCompare(b)).map((nick) => {
      const classes = [nick === myNick ? 'self' : '', ops.has(nick) ? 'op' : '', away.has(nick) ? 'away' : ''].filter(Boolean).join(' ');
      const item = element('li', classes || undefined, `${ops.has(nick) ? '@' : ''}${nick}`);
      if (away.has(nick)) item.append(element('span', 'away-mark', ' (away)'));
      return item;
    }),
  );
  status.textContent = `${myNick ? `you are ${myNick} · ` : ''}${inRoom ? `${members.size} here` : 'not in the room'}`;
}

function showTopic(topic: string): void {
  topicLine.textContent = topic;
  topicLine.title = topic;
}

/** Out of the room (kicked, banned): say why, and stay out until the user types /join. */
function leftRoom(why: string): void {
  inRoom = false;
  stayOut = true;
  members.clear();
  ops.clear();
  away.clear();
  log.say('error', `${why} · type /join to come back`);
  drawMembers();
}

function nickSpan(nick: string): HTMLSpanElement {
  return element('span', 'nick', nick);
}

/** Where a message's seq counts: the room, or a private one's conversation, named by the other party. */
function scopeOf(event: Event): Scope {
  if (event.to === undefined) return { room };
  return { with: event.from === myNick ? event.to : event.from };
}

/** Where a change's seq counts: a room's change names its room, a private one the other party (`with`). */
function changeScope(event: Event): Scope | null {
  if (typeof event.with === 'string') return { with: event.with };
  return event.room === room ? { room } : null;
}

function showMessage(event: Event): void {
  const isPrivate = event.to !== undefined;
  const classes = ['msg', isPrivate ? 'private' : '', event.me ? 'me' : '', event.history ? 'history' : ''].filter(Boolean).join(' ');
  const parts: (Node | string)[] = [];
  if (isPrivate) {
    parts.push(nickSpan(event.from), element('span', 'to', `→ ${event.to}`), ' ');
  } else {
    parts.push(nickSpan(event.me ? `* ${event.from}` : event.from));
  }
  parts.push(element('span', 'text', event.text));
  const label = conversation.label(event.seq);
  conversation.add(scopeOf(event), event, log.add(classes, event.ts, ...(label ? [label] : []), ...parts));
}

/** Fetch a file with the connection's token (a private file needs it), showing progress. */
async function fetchFile(file: Event): Promise<Blob> {
  const progress = progressLine(transfers, `↓ ${file.name}`);
  try {
    const response = await fetch(`/files/${encodeURIComponent(file.file)}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok || !response.body) throw new Error(`${response.status} ${await response.text()}`);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      progress.update(received, file.size);
    }
    return new Blob(chunks as BlobPart[]);
  } finally {
    progress.done();
  }
}

function showFile(event: Event): void {
  const label = conversation.label(event.seq);
  const parts: (Node | string)[] = [...(label ? [label] : []), nickSpan(event.from)];
  if (event.to !== undefined) parts.push(element('span', 'to', `→ ${event.to}`), ' ');
  const isVoice = event.kind === 'voice';
  const button = element('button', 'link', isVoice ? '▶ play' : event.name);
  button.type = 'button';
  if (isVoice) parts.push(element('span', 'voice', `voice message, ${Math.max(1, Math.round((event.duration_ms ?? 0) / 1000))} s `));
  parts.push(button, element('span', 'size', ` ${humanBytes(event.size)}`));
  const item = log.add(['file', event.to !== undefined ? 'private' : '', event.history ? 'history' : ''].filter(Boolean).join(' '), event.ts, ...parts);
  conversation.add(scopeOf(event), event, item);
  button.addEventListener('click', () => {
    fetchFile(event)
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        if (isVoice) {
          const audio = element('audio');
          audio.controls = true;
          audio.src = url;
          button.replaceWith(audio);
          void audio.play().catch(() => {});
          return;
        }
        const link = element('a');
        link.href = url;
        link.download = event.name;
        item.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      })
      .catch((error: Error) => log.say('error', `could not fetch ${event.name}: ${error.message}`));
  });
}

const pendingUploads = new Map<string, { resolve(): void; reject(error: Error): void }>();
let uploadCount = 0;

function upload(file: File): void {
  uploading = uploading.then(() => uploadOne(file)).catch((error: Error) => {
    log.say('error', `${file.name}: ${error.message}`);
  });
}

async function uploadOne(file: File): Promise<void> {
  const id = `upload-${++uploadCount}`;
  const progress = progressLine(transfers, `↑ ${file.name}`);
  const answered = new Promise<void>((resolve, reject) => pendingUploads.set(id, { resolve, reject }));
  try {
    connection.send({ type: 'upload', room, name: file.name || 'file', size: file.size, id });
    sendingBytes = true;
    let sent = 0;
    while (sent < file.size) {
      if (!connection.open) throw new Error('the connection dropped during the upload');
      if (connection.buffered > UPLOAD_WINDOW) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      } else {
        const slice = new Uint8Array(await file.slice(sent, sent + UPLOAD_SLICE).arrayBuffer());
        connection.sendBytes(slice);
        sent += slice.length;
      }
      progress.update(sent - connection.buffered, file.size);
    }
    sendingBytes = false;
    for (const message of waitingLines.splice(0)) connection.send(message);
    await answered;
  } finally {
    sendingBytes = false;
    pendingUploads.delete(id);
    progress.done();
  }
}

function onMessage(event: Event): void {
  switch (event.type) {
    case 'welcome':
      myNick = event.nick;
      token = event.token ?? token;
      if (stayOut) drawMembers();
      else joinRoom();
      if (event.motd) {
        banner.textContent = event.motd;
        banner.hidden = false;
      }
      break;
    case 'join':
      if (event.room !== room) break;
      if (!myNick && members.size === 0) myNick = event.nick;
      members.add(event.nick);
      removed.delete(event.nick);
      log.add('event', event.ts, `→ ${event.nick} joined`);
      drawMembers();
      break;
    case 'leave':
      if (event.room !== room) break;
      if (event.nick === myNick) {
        leftRoom(`you are no longer in #${room}${event.reason ? `: ${event.reason}` : ''}`);
        break;
      }
      members.delete(event.nick);
      log.add('event', event.ts, `← ${event.nick} left${event.reason ? ` (${event.reason})` : ''}`);
      drawMembers();
      break;
    case 'nick':
      if (members.delete(event.old)) members.add(event.nick);
      for (const marked of [ops, away]) if (marked.delete(event.old)) marked.add(event.nick);
      conversation.renamed(event.old, event.nick);
      if (event.old !== myNick && privateSeen.has(event.old)) {
        privateSeen.set(event.nick, Math.max(privateSeen.get(event.nick) ?? 0, privateSeen.get(event.old)!));
        privateSeen.delete(event.old);
      }
      if (event.old === myNick) myNick = event.nick;
      log.add('event', event.ts, `${event.old} is now ${event.nick}`);
      drawMembers();
      break;
    case 'members':
      if (event.room !== room) break;
      members.clear();
      for (const nick of event.nicks as string[]) if (event.id !== 'who' || !removed.has(nick)) members.add(nick);
      ops.clear();
      for (const nick of (event.ops ?? []) as string[]) ops.add(nick);
      away.clear();
      for (const nick of (event.away ?? []) as string[]) away.add(nick);
      if (event.id === 'join') {
        inRoom = true;
        stayOut = false;
        resumePrivate();
      }
      drawMembers();
      break;
    case 'msg':
      if (event.room !== undefined && event.room !== room) break;
      // A private message's seq counts in its conversation, not in the room.
      if (event.to === undefined && typeof event.seq === 'number') lastSeq = Math.max(lastSeq, event.seq);
      else notePrivateSeq(event);
      showMessage(event);
      break;
    case 'file':
      if (event.room !== undefined && event.room !== room) break;
      // A private message's seq counts in its conversation, not in the room.
      if (event.to === undefined && typeof event.seq === 'number') lastSeq = Math.max(lastSeq, event.seq);
      else notePrivateSeq(event);
      showFile(event);
      break;
    case 'history':
      if (event.id !== 'resume' || typeof event.with !== 'string') break;
      for (const message of event.messages as Event[]) {
        const missed: Event = { ...message, history: true };
        // One that came live while the resume was asked is on the page already.
        if (typeof missed.seq === 'number' && conversation.has(scopeOf(missed), missed.seq)) continue;
        notePrivateSeq(missed);
        if (missed.type === 'file') showFile(missed);
        else showMessage(missed);
      }
      if (event.more && (event.messages as Event[]).length > 0 && (resumePages.get(event.with) ?? 0) < RESUME_PAGES_MAX) askSince(event.with);
      break;
    case 'notice':
      log.say('notice', event.text);
      break;
    case 'topic':
      if (event.room !== room) break;
      if (event.id !== undefined) log.say('notice', event.topic ? `topic: ${event.topic}` : 'no topic', event.ts);
      else if (!inRoom) {
        // A join's topic: said once, not again on each reconnect.
        if (event.topic !== topicLine.textContent) log.say('notice', `topic: ${event.topic}${event.by ? ` (set by ${event.by})` : ''}`, event.ts);
      } else log.add('event', event.ts, event.topic ? `${event.by ?? 'someone'} set the topic: ${event.topic}` : `${event.by ?? 'someone'} cleared the topic`);
      showTopic(event.topic);
      break;
    case 'moderation':
      if (event.room !== room) break;
      log.add('moderation', event.ts, element('span', 'text', event.text));
      if (event.action === 'op') ops.add(event.nick);
      if (event.action === 'deop') ops.delete(event.nick);
      if ((event.action === 'kick' || event.action === 'ban') && event.nick !== myNick) {
        // The room hears no leave of those removed (a guest's ban may remove more guests): ask who is left.
        members.delete(event.nick);
        removed.add(event.nick);
        if (inRoom) send({ type: 'who', room, id: 'who' });
      }
      drawMembers();
      break;
    case 'away':
      if (event.room !== undefined && event.room !== room) break;
      if (event.away) away.add(event.nick);
      else away.delete(event.nick);
      if (event.room === undefined) log.say('notice', `${event.nick} is away: ${event.message ?? 'away'}`, event.ts);
      else log.add('event', event.ts, event.away ? `${event.nick} is away: ${event.message ?? 'away'}` : `${event.nick} is back`);
      drawMembers();
      break;
    case 'edit':
    case 'delete':
    case 'react': {
      const scope = changeScope(event);
      if (!scope) break;
      if (event.type === 'edit') conversation.edit(scope, event.seq, event.text);
      else if (event.type === 'delete') conversation.delete(scope, event.seq);
      else conversation.react(scope, event.seq, event.reactions ?? []);
      break;
    }
    case 'ok':
      if (typeof event.id === 'string' && pendingUploads.has(event.id)) pendingUploads.get(event.id)!.resolve();
      if (event.id === 'login' || event.id === 'relogin') {
        if (typeof event.token === 'string') {
          loginToken = event.token;
          sessionStorage.setItem(LOGIN_KEY, loginToken);
        }
        // A login the user typed may come after a join refused with auth_required; a relogin precedes the welcome's join.
        if (event.id === 'login') {
          log.say('notice', `logged in as ${event.account}`);
          if (!joinAsked) joinRoom();
        }
      }
      break;
    case 'ping':
      send({ type: 'pong' });
      break;
    case 'error':
      if (event.id === 'hello' && wantedNick) {
        // The nick asked for cannot be had: take the one suggested, or a guest nick, rather than stay outside.
        log.say('error', event.message);
        wantedNick = event.code === 'nick_taken' && typeof event.suggest === 'string' ? event.suggest : '';
        send({ type: 'hello', ...(wantedNick && { nick: wantedNick }), id: 'hello' });
        break;
      }
      if (event.id === 'who' || event.id === 'resume') break; // a guest that is gone has no conversation to resume
      if (event.id === 'relogin') {
        loginToken = '';
        sessionStorage.removeItem(LOGIN_KEY);
      }
      if (event.id === 'join') {
        joinAsked = false;
        if (['banned', 'invite_only', 'room_full', 'bad_password'].includes(event.code)) {
          // Refused at the door: coming back by itself after a reconnect would only be refused again.
          stayOut = true;
          log.say('error', `${event.code}: ${errorInWords(event.code, event.message, event.id)}`);
          drawMembers();
          break;
        }
      }
      if (event.code === 'auth_required') {
        log.say('error', 'this server wants you logged in: /login NICK PASSWORD, or /register NICK PASSWORD');
        break;
      }
      if (typeof event.id === 'string' && pendingUploads.has(event.id)) {
        pendingUploads.get(event.id)!.reject(new Error(event.message));
        break;
      }
      log.say('error', errorInWords(event.code, event.message, event.id));
      break;
    case 'bye':
      log.say('error', `disconnected: ${event.reason}`);
      if (FINAL_BYES.has(event.code)) connection.stop();
      break;
  }
}

const connection = new Connection({
  open() {
    status.textContent = 'connected';
    members.clear();
    joinAsked = false;
    inRoom = false;
    if (loginToken) send({ type: 'login', token: loginToken, id: 'relogin' });
    send({ type: 'hello', ...(wantedNick && !loginToken && { nick: wantedNick }), id: 'hello' });
  },
  message: onMessage,
  closed(retryInMs) {
    status.textContent = `disconnected; retrying in ${Math.round(retryInMs / 1000)} s`;
  },
});
connection.connect();

/** Pages asked so far by this connection's resume, per conversation. */
const resumePages = new Map<string, number>();

function notePrivateSeq(event: Event): void {
  if (event.to === undefined || typeof event.seq !== 'number') return;
  const party = (scopeOf(event) as { with: string }).with;
  privateSeen.set(party, Math.max(privateSeen.get(party) ?? 0, event.seq));
}

/** After a reconnect, each private conversation shown asks for what came since its last message (as the TUI does). */
function resumePrivate(): void {
  resumePages.clear();
  for (const party of privateSeen.keys()) askSince(party);
}

function askSince(party: string): void {
  resumePages.set(party, (resumePages.get(party) ?? 0) + 1);
  send({ type: 'history', with: party, since: privateSeen.get(party)!, limit: 200, id: 'resume' });
}

function joinRoom(): void {
  joinAsked = true;
  send({ type: 'join', room, ...(lastSeq > 0 && { since: lastSeq }), ...(roomKey && { key: roomKey }), id: 'join' });
}

/**
 * What the input line means: a command (/msg, /me, /nick, /login, /register, /logout, /join, and those of
 * commands.ts) or a message to the room.
 */
function submit(text: string): void {
  const command = /^\/(\w+)\s*(.*)$/s.exec(text);
  if (!command) return send({ type: 'msg', room, text: emojify(text) });
  const [, name, rest = ''] = command;
  const forRoom = roomCommand(name!.toLowerCase(), rest, room, emojify);
  if (forRoom) return 'usage' in forRoom ? void log.say('error', forRoom.usage) : send(forRoom.send);
  switch (name!.toLowerCase()) {
    case 'msg':
    case 'query': {
      const [, to, words] = /^(\S+)\s+(.+)$/s.exec(rest) ?? [];
      if (!to || !words) return void log.say('error', 'usage: /msg NICK TEXT');
      return send({ type: 'msg', to, text: emojify(words) });
    }
    case 'me':
      return send({ type: 'msg', room, text: emojify(rest), me: true });
    case 'nick':
      return send({ type: 'nick', nick: rest.trim() });
    case 'login':
    case 'register': {
      const [, nick, password] = /^(\S+)\s+(.+)$/s.exec(rest) ?? [];
      if (!nick || !password) return void log.say('error', `usage: /${name} NICK PASSWORD`);
      return send({ type: name!.toLowerCase(), nick, password, id: 'login' });
    }
    case 'logout':
      loginToken = '';
      sessionStorage.removeItem(LOGIN_KEY);
      return send({ type: 'logout' });
    case 'join':
      roomKey = rest.trim() || roomKey;
      stayOut = false;
      return joinRoom();
    default:
      log.say('error', `unknown command /${name}: try /msg, /me, /nick, /join, /topic, /reply, /react, /edit, /delete, /away, /back, /login, /register, /logout`);
  }
}

byId<HTMLFormElement>('say').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = line.value;
  if (!text.trim()) return;
  submit(text);
  line.value = '';
});

const fileInput = byId<HTMLInputElement>('file');
fileInput.addEventListener('change', () => {
  for (const file of fileInput.files ?? []) upload(file);
  fileInput.value = '';
});
document.addEventListener('dragover', (event) => {
  event.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (event) => {
  event.preventDefault();
  document.body.classList.remove('dragging');
  for (const file of event.dataTransfer?.files ?? []) upload(file);
});
