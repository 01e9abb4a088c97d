// The input line's commands for running a room and for conversations, as in the terminal: /topic, /reply, /react,
// /edit, /delete, /away, /back, /join. Each gives the request to send, or a usage line to show. /reply, /react,
// /edit and /delete take `@NICK` first for a message of the private conversation with NICK (its own `#N`).

export type Outcome = { send: object } | { usage: string };

/** `12` or `#12`: a message's seq. */
function seqOf(word: string | undefined): number | null {
  const match = /^#?([1-9][0-9]{0,15})$/.exec(word ?? '');
  return match ? Number(match[1]) : null;
}

/** `N TEXT` (TEXT may be required or not). */
function seqAndText(rest: string): { seq: number | null; text: string } {
  const [, word, text = ''] = /^(\S+)\s*(.*)$/s.exec(rest.trim()) ?? [];
  return { seq: seqOf(word), text };
}

/** `@NICK REST`: a message of the private conversation with NICK; otherwise one of the room. */
function scopeOf(rest: string, room: string): { scope: { room: string } | { with: string }; rest: string } {
  const [, nick, after = ''] = /^\s*@(\S+)\s*(.*)$/s.exec(rest) ?? [];
  return nick ? { scope: { with: nick }, rest: after } : { scope: { room }, rest };
}

/** The outcome of `/name rest` in `room`, or null when it is none of these commands. */
export function roomCommand(name: string, rest: string, room: string, emojify: (text: string) => string): Outcome | null {
  const target = scopeOf(rest, room);
  const where = target.scope;
  if (name === 'reply' || name === 'react' || name === 'edit' || name === 'delete') rest = target.rest;
  switch (name) {
    case 'topic':
      return { send: { type: 'topic', room, ...(rest.trim() && { topic: rest.trim() }), id: 'topic' } };
    case 'reply': {
      const { seq, text } = seqAndText(rest);
      if (seq === null || !text) return { usage: 'usage: /reply [@NICK] N TEXT (N is the #N beside a message; @NICK for a private one)' };
      return { send: { type: 'msg', ...('with' in where ? { to: where.with } : where), text: emojify(text), reply_to: seq } };
    }
    case 'react': {
      const { seq, text } = seqAndText(rest);
      const emoji = emojify(text.trim());
      if (seq === null || !emoji || /\s/.test(emoji)) return { usage: 'usage: /react [@NICK] N EMOJI (👍 or :thumbsup:; the same again takes it back)' };
      if (/^:[^:\s]+:$/.test(emoji)) return { usage: `there is no emoji called ${emoji}: type the emoji itself, or a name such as :thumbsup:` };
      return { send: { type: 'react', ...where, seq, emoji } };
    }
    case 'edit': {
      const { seq, text } = seqAndText(rest);
      if (seq === null || !text) return { usage: 'usage: /edit [@NICK] N TEXT' };
      return { send: { type: 'edit', ...where, seq, text: emojify(text) } };
    }
    case 'delete': {
      const seq = seqOf(rest.trim());
      if (seq === null) return { usage: 'usage: /delete [@NICK] N' };
      return { send: { type: 'delete', ...where, seq } };
    }
    case 'away':
      return { send: { type: 'away', ...(rest.trim() && { message: rest.trim() }) } };
    case 'back':
      return { send: { type: 'back' } };
    default:
      return null;
  }
}

/** An error reply in words: what the code means here, with the server's own message where it says more. */
export function errorInWords(code: string, message: string, requestId: unknown): string {
  switch (code) {
    case 'muted':
      return 'You cannot speak here: you are muted, or the room is moderated and you have no voice.';
    case 'banned':
      return `You are banned from this room: ${message}`;
    case 'invite_only':
      return 'This room is invite-only, and you have no invitation.';
    case 'room_full':
      return 'This room is full.';
    case 'bad_password':
      return requestId === 'join' ? 'This room has a key: type /join KEY to come in.' : message;
    case 'not_operator':
      return 'Only the room\'s operators may do that.';
    case 'no_such_message':
      return 'There is no such message here (or it was deleted, or is too old to change).';
    case 'not_allowed':
      return 'Only the message\'s author may change it.';
    default:
      return message;
  }
}
