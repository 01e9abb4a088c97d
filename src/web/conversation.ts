// Messages by their seq (docs/protocol.md "Conversations"): `#N` beside each, the quoted first line of what a
// reply answers, and the edits, deletes and reactions that change a message after it is shown. The room and each
// private conversation count their own seq, so a message is kept under its scope: the room, or `with` the other
// party (docs/protocol.md "Changes in private"). Text via textContent.

import { element } from './view.js';
import type { Event } from './connection.js';

interface Reaction { emoji: string; count: number }

interface Shown {
  item: HTMLLIElement;
  text: HTMLSpanElement | null;
}

/** `👍 3  🎉 1`: a message's whole tally. */
export function tally(reactions: Reaction[]): string {
  return reactions.map(({ emoji, count }) => `${emoji} ${count}`).join('  ');
}

/** Where a seq counts: the page's room, or the private conversation with a nick. */
export type Scope = { room: string } | { with: string };

function keyOf(scope: Scope, seq: number): string {
  return 'room' in scope ? `#${scope.room} ${seq}` : `@${scope.with} ${seq}`;
}

export class Conversation {
  private readonly shown = new Map<string, Shown>();

  /** The `#N` label put before a message's text. */
  label(seq: unknown): HTMLSpanElement | null {
    return typeof seq === 'number' ? element('span', 'seq', `#${seq}`) : null;
  }

  /** A line just added for a record: keep it by scope and seq, and draw what the record says about it now. */
  add(scope: Scope, record: Event, item: HTMLLIElement): void {
    if (typeof record.seq !== 'number') return;
    const text = item.querySelector<HTMLSpanElement>('span.text');
    const shown = { item, text };
    this.shown.set(keyOf(scope, record.seq), shown);
    if (record.reply && typeof record.reply === 'object') {
      const { seq, from, text: quoted } = record.reply as { seq: number; from: string; text: string };
      item.prepend(element('div', 'quote', `↪ #${seq} ${from}: ${quoted}`));
    }
    if (record.deleted) return this.markDeleted(shown);
    if (record.edited) this.markEdited(shown);
    if (Array.isArray(record.reactions)) this.drawReactions(shown, record.reactions as Reaction[]);
  }

  /** Whether the message at `seq` of `scope` is on the page already. */
  has(scope: Scope, seq: number): boolean {
    return this.shown.has(keyOf(scope, seq));
  }

  edit(scope: Scope, seq: number, text: string): void {
    const shown = this.shown.get(keyOf(scope, seq));
    if (!shown?.text) return;
    shown.text.textContent = text;
    this.markEdited(shown);
  }

  delete(scope: Scope, seq: number): void {
    const shown = this.shown.get(keyOf(scope, seq));
    if (shown) this.markDeleted(shown);
  }

  react(scope: Scope, seq: number, reactions: Reaction[]): void {
    const shown = this.shown.get(keyOf(scope, seq));
    if (shown) this.drawReactions(shown, reactions);
  }

  /** The other party of private conversations is now called `nick`: their changes come `with` the new name. */
  renamed(old: string, nick: string): void {
    const prefix = `@${old} `;
    for (const [key, shown] of [...this.shown]) {
      if (!key.startsWith(prefix)) continue;
      this.shown.delete(key);
      this.shown.set(`@${nick} ${key.slice(prefix.length)}`, shown);
    }
  }

  private markEdited({ item }: Shown): void {
    if (!item.querySelector('.edited')) item.querySelector('span.text')?.after(element('span', 'edited', ' (edited)'));
  }

  private markDeleted(shown: Shown): void {
    const { item } = shown;
    for (const gone of item.querySelectorAll('.quote, .edited, .reactions, button, audio, .size, .voice')) gone.remove();
    if (!shown.text) {
      shown.text = element('span', 'text');
      item.append(shown.text);
    }
    shown.text.textContent = 'message deleted';
    item.classList.add('deleted');
  }

  private drawReactions({ item }: Shown, reactions: Reaction[]): void {
    item.querySelector('.reactions')?.remove();
    if (reactions.length > 0) item.append(element('div', 'reactions', tally(reactions)));
  }
}
