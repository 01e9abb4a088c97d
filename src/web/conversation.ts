// Room messages by their seq (docs/protocol.md "Conversations"): `#N` beside each, the quoted first line of what a
// reply answers, and the edits, deletes and reactions that change a message after it is shown. Text via textContent.

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

export class Conversation {
  private readonly shown = new Map<number, Shown>();

  /** The `#N` label put before a message's text. */
  label(seq: unknown): HTMLSpanElement | null {
    return typeof seq === 'number' ? element('span', 'seq', `#${seq}`) : null;
  }

  /** A line just added for a room record: keep it by seq and draw what the record says about it now. */
  add(record: Event, item: HTMLLIElement): void {
    if (typeof record.seq !== 'number') return;
    const text = item.querySelector<HTMLSpanElement>('span.text');
    const shown = { item, text };
    this.shown.set(record.seq, shown);
    if (record.reply && typeof record.reply === 'object') {
      const { seq, from, text: quoted } = record.reply as { seq: number; from: string; text: string };
      item.prepend(element('div', 'quote', `↪ #${seq} ${from}: ${quoted}`));
    }
    if (record.deleted) return this.markDeleted(shown);
    if (record.edited) this.markEdited(shown);
    if (Array.isArray(record.reactions)) this.drawReactions(shown, record.reactions as Reaction[]);
  }

  edit(seq: number, text: string): void {
    const shown = this.shown.get(seq);
    if (!shown?.text) return;
    shown.text.textContent = text;
    this.markEdited(shown);
  }

  delete(seq: number): void {
    const shown = this.shown.get(seq);
    if (shown) this.markDeleted(shown);
  }

  react(seq: number, reactions: Reaction[]): void {
    const shown = this.shown.get(seq);
    if (shown) this.drawReactions(shown, reactions);
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
