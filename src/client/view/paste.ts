// Pasted text must not be typed key by key (each line would be sent on its own). With bracketed paste on, the
// terminal wraps a paste in ESC[200~ ... ESC[201~; this filter takes it out of the key stream and hands it over
// whole. A terminal without bracketed paste delivers a paste as one chunk with line breaks inside: same.

import { Transform, type TransformCallback } from 'node:stream';

const START = '\x1b[200~';
const END = '\x1b[201~';

export class PasteFilter extends Transform {
  private pasting: string | null = null;

  constructor(
    private readonly onPaste: (text: string) => void,
    /** Focus events (CSI I, CSI O, after CSI ?1004h): taken out of the keys, or blessed would see stray keys. */
    private readonly onFocus: (focused: boolean) => void = () => {},
  ) {
    super();
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    let text = chunk.toString();
    let keys = '';
    while (text.length > 0) {
      if (this.pasting !== null) {
        const end = text.indexOf(END);
        if (end === -1) {
          this.pasting += text;
          text = '';
        } else {
          const pasted = this.pasting + text.slice(0, end);
          this.pasting = null;
          text = text.slice(end + END.length);
          this.onPaste(pasted);
        }
      } else {
        const start = text.indexOf(START);
        if (start === -1) {
          keys += text;
          text = '';
        } else {
          keys += text.slice(0, start);
          this.pasting = '';
          text = text.slice(start + START.length);
        }
      }
    }
    keys = keys.replace(/\x1b\[([IO])/g, (_whole, which: string) => {
      this.onFocus(which === 'I');
      return '';
    });
    if (keys !== '' && !keys.includes('\x1b') && /[\r\n]./.test(keys)) {
      this.onPaste(keys);
      keys = '';
    }
    if (keys !== '') this.push(keys);
    done();
  }
}

/** A paste as message text: \r\n and \r become \n, trailing line breaks go. */
export function normalizePaste(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\n+$/, '');
}
