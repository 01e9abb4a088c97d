// Messages out: one JSON object and a newline. JSON.stringify escapes every control character,
// so a text with line breaks stays one line on the wire.

import type { ClientMessage, ServerMessage } from './messages.js';

export function encodeLine(message: ServerMessage | ClientMessage): string {
  return JSON.stringify(message) + '\n';
}

/**
 * The bytes of one line: `json` and its newline, written straight into the Buffer (`json + '\n'` would make a second
 * string of the whole line, copied again when it is flattened: a tenth of a room message's garbage).
 */
export function lineBytes(json: string): Buffer {
  const length = Buffer.byteLength(json);
  const bytes = Buffer.allocUnsafe(length + 1);
  bytes.write(json, 0, length, 'utf8');
  bytes[length] = 0x0a;
  return bytes;
}

/** Serialise once; the same bytes go to every recipient. */
export function encode(message: ServerMessage | ClientMessage): Buffer {
  return lineBytes(JSON.stringify(message));
}

/** Read one server line (client side). Returns null when it is not a JSON object with a string `type`. */
export function decodeServerLine(line: string): ServerMessage | null {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
      return value as ServerMessage;
    }
  } catch {
    // fall through
  }
  return null;
}
