// Incremental NDJSON framing: raw Buffer chunks in, complete UTF-8 lines out (docs/protocol.md, "Framing").
// Lines are split on the byte 0x0A, so a multi-byte character split across chunks is decoded whole.

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
// Stateless when used without {stream: true}, so one instance serves every decoder.
const utf8 = new TextDecoder('utf-8', { fatal: true });
// For a chunk's complete lines decoded at once: a byte order mark is kept, so that each line's is dropped as a line
// decoded alone drops it (the decoded text is then exactly the bytes, which finds where a line ends in them).
const utf8Lines = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const BYTE_ORDER_MARK = 0xfeff;

export interface LineDecoderEvents {
  /** A complete, non-blank line, without its line ending. */
  line(text: string): void;
  /** A line that is not valid UTF-8. */
  invalidUtf8(): void;
  /** A line longer than `maxLineBytes`; its bytes are dropped up to the next newline, never buffered. */
  tooLong(): void;
  /** A line of nothing but white space: nothing to act on, but a line all the same (flood control counts it). */
  blank?(): void;
}

/** Receives raw bytes after a framed header (file transfer); `end` fires once `length` bytes arrived. */
export interface RawSink {
  data(chunk: Buffer): void;
  end(): void;
  /** The input ended before `length` bytes arrived. */
  abort(): void;
}

/** No buffers: shared by every decoder until it needs a list of its own (10 000 idle connections, 2 arrays each). */
const NONE: Buffer[] = Object.freeze([]) as unknown as Buffer[];

export class LineDecoder {
  private pending: Buffer[] = NONE;
  private pendingBytes = 0;
  private skippingLongLine = false;
  private raw: { sink: RawSink; remaining: number } | null = null;
  private paused = false;
  private backlog: Buffer[] = NONE;
  private endedWhilePaused = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly events: LineDecoderEvents,
  ) {}

  /**
   * Route the next `length` bytes to `sink` instead of framing them as lines.
   * May be called from inside a `line` callback: the rest of the current chunk goes to the sink.
   */
  takeRaw(length: number, sink: RawSink): void {
    if (length === 0) {
      sink.end();
      return;
    }
    this.raw = { sink, remaining: length };
  }

  /** Raw bytes still expected by the current sink (0 in line mode). */
  get rawRemaining(): number {
    return this.raw?.remaining ?? 0;
  }

  /** Hold further input (kept, in order) until resume(): the caller finishes something asynchronous first. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (!this.paused && this.backlog.length > 0) this.push(this.backlog.shift()!);
    if (!this.paused && this.endedWhilePaused) {
      this.endedWhilePaused = false;
      this.end();
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Bytes that arrived but are neither a complete line nor raw data yet. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** A line has begun and not ended yet (its bytes may be buffered, or dropped as too long). */
  get midLine(): boolean {
    return this.pendingBytes > 0 || this.skippingLongLine;
  }

  push(chunk: Buffer): void {
    let start = 0;
    /** Up to here the chunk's lines go one by one (their bytes are not all valid UTF-8). */
    let oneByOneUntil = -1;
    while (start < chunk.length) {
      if (this.paused) {
        if (this.backlog === NONE) this.backlog = [];
        this.backlog.push(chunk.subarray(start));
        return;
      }
      if (this.raw) {
        start = this.feedRaw(chunk, start);
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.keepPartial(chunk.subarray(start));
        return;
      }
      if (this.pendingBytes === 0 && !this.skippingLongLine && newline >= oneByOneUntil) {
        // Every complete line from here, decoded in one go when none of them can be too long.
        const last = chunk.lastIndexOf(NEWLINE);
        if (last > newline && last - start <= this.maxLineBytes) {
          const next = this.completeLines(chunk, start, last);
          if (next !== -1) {
            start = next;
            continue;
          }
          oneByOneUntil = last;
        }
      }
      this.completeLine(chunk.subarray(start, newline));
      start = newline + 1;
    }
  }

  /**
   * The lines of `chunk` from `start` to the newline at `last`, each handed on as completeLine would (a blank one,
   * its carriage return and byte order mark dropped). Returns where the chunk goes on: after `last`, or after the
   * line that paused the decoder or asked for raw bytes; -1 (nothing handed on) when the bytes are not all UTF-8.
   */
  private completeLines(chunk: Buffer, start: number, last: number): number {
    let text: string;
    try {
      text = utf8Lines.decode(chunk.subarray(start, last));
    } catch {
      return -1;
    }
    let at = 0;
    while (at <= text.length) {
      let end = text.indexOf('\n', at);
      if (end === -1) end = text.length;
      let lineEnd = end;
      if (lineEnd > at && text.charCodeAt(lineEnd - 1) === CARRIAGE_RETURN) lineEnd--;
      const line = text.charCodeAt(at) === BYTE_ORDER_MARK ? text.slice(at + 1, lineEnd) : text.slice(at, lineEnd);
      at = end + 1;
      if (line.trim() === '') this.events.blank?.();
      else this.events.line(line);
      if ((this.paused || this.raw !== null) && at <= text.length) {
        // The rest of the chunk is not lines now: go on from this line's end, in bytes.
        return start + (text.length === last - start ? at : Buffer.byteLength(text.slice(0, at)));
      }
    }
    return last + 1;
  }

  /** The peer finished sending: an unterminated last line still counts. */
  end(): void {
    if (this.paused) {
      this.endedWhilePaused = true;
      return;
    }
    if (this.raw) {
      this.discard();
      return;
    }
    if (this.pendingBytes === 0 || this.skippingLongLine) {
      this.reset();
      return;
    }
    this.completeLine(Buffer.alloc(0));
  }

  /** The connection is gone: drop what is buffered, tell a raw sink it will get no more. */
  discard(): void {
    const raw = this.raw;
    this.raw = null;
    this.backlog = NONE;
    this.reset();
    raw?.sink.abort();
  }

  private reset(): void {
    this.pending = NONE;
    this.pendingBytes = 0;
    this.skippingLongLine = false;
  }

  private feedRaw(chunk: Buffer, start: number): number {
    const raw = this.raw!;
    const take = Math.min(raw.remaining, chunk.length - start);
    raw.remaining -= take;
    if (raw.remaining === 0) this.raw = null;
    raw.sink.data(chunk.subarray(start, start + take));
    if (raw.remaining === 0) raw.sink.end();
    return start + take;
  }

  private keepPartial(part: Buffer): void {
    if (this.skippingLongLine) return;
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      this.reset();
      this.skippingLongLine = true;
      this.events.tooLong();
      return;
    }
    // Copy: the caller may reuse its chunk, and a small slice must not pin a large buffer.
    if (this.pending === NONE) this.pending = [];
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private completeLine(tail: Buffer): void {
    if (this.skippingLongLine) {
      this.skippingLongLine = false;
      return;
    }
    let bytes = tail;
    if (this.pendingBytes > 0) {
      this.pending.push(tail);
      bytes = Buffer.concat(this.pending, this.pendingBytes + tail.length);
      this.pending = NONE;
      this.pendingBytes = 0;
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CARRIAGE_RETURN) end--;
    if (end > this.maxLineBytes) {
      this.events.tooLong();
      return;
    }
    let text: string;
    try {
      text = utf8.decode(end === bytes.length ? bytes : bytes.subarray(0, end));
    } catch {
      this.events.invalidUtf8();
      return;
    }
    if (text.trim() === '') {
      this.events.blank?.();
      return;
    }
    this.events.line(text);
  }
}
