// The page's link to the server: one WebSocket to /ws carrying the protocol's messages (one JSON object per text
// frame; an upload's bytes in binary frames). Reconnects after a drop and resumes the room with `since`.

export type Event = { type: string; [field: string]: any };

export interface ConnectionEvents {
  /** A server message. */
  message(event: Event): void;
  /** The socket opened: say hello and join. */
  open(): void;
  /** The socket closed; `retryInMs` until the next try. */
  closed(retryInMs: number): void;
}

const MAX_RETRY_MS = 15_000;

export class Connection {
  private socket: WebSocket | null = null;
  private retryMs = 500;
  private stopped = false;

  constructor(private readonly events: ConnectionEvents) {}

  connect(): void {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.retryMs = 500;
      this.events.open();
    });
    socket.addEventListener('message', (message) => {
      if (typeof message.data !== 'string') return;
      try {
        this.events.message(JSON.parse(message.data) as Event);
      } catch {
        // not a JSON line: nothing the page can show
      }
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      const wait = this.retryMs;
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
      this.events.closed(wait);
      setTimeout(() => this.connect(), wait);
    });
  }

  /** No more reconnecting (the server said bye for a reason a retry cannot fix). */
  stop(): void {
    this.stopped = true;
  }

  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  sendBytes(bytes: ArrayBuffer | Uint8Array): void {
    this.socket?.send(bytes);
  }

  /** Bytes handed to the socket that it has not sent yet: upload progress, and its pace. */
  get buffered(): number {
    return this.socket?.bufferedAmount ?? 0;
  }
}
