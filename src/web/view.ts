// Drawing the room: every piece of user text goes in with textContent, never as HTML.

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `12:04` in the reader's time zone; the full time in its title. */
export function timeOf(ts: string | undefined): HTMLTimeElement {
  const date = ts ? new Date(ts) : new Date();
  const time = element('time', undefined, date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }));
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  return time;
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export class Log {
  constructor(private readonly list: HTMLOListElement) {}

  /** Append one line: its time, then the parts given. Keeps the view at the bottom if it was there. */
  add(className: string, ts: string | undefined, ...parts: (Node | string)[]): HTMLLIElement {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const item = element('li', className);
    item.append(timeOf(ts), ...parts);
    this.list.append(item);
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    return item;
  }

  /** A line of its own words from the page or the server (not from a user). */
  say(className: string, text: string, ts?: string): HTMLLIElement {
    return this.add(className, ts, element('span', 'text', text));
  }
}

/** A progress line under the log, for one transfer; `done` removes it. */
export function progressLine(container: HTMLElement, label: string): { update(done: number, total: number): void; done(): void } {
  const row = element('div');
  const name = element('span', undefined, label);
  const bar = element('progress');
  const figure = element('span', undefined, '0%');
  row.append(name, bar, figure);
  container.append(row);
  return {
    update(done, total) {
      bar.max = Math.max(1, total);
      bar.value = done;
      figure.textContent = `${total > 0 ? Math.floor((done / total) * 100) : 100}%`;
    },
    done() {
      row.remove();
    },
  };
}
