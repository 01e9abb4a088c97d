// Untrusted text made harmless to draw in a terminal: no escape sequences, controls or bidi overrides.

const CSI = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?/g;
// OSC, DCS, SOS, PM, APC: strings up to BEL or ST; an unterminated one runs to the end of the text.
const STRING_SEQUENCE = /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?/g;
const OTHER_ESCAPE = /\x1b[\s\S]?/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// Bidi embeddings, overrides and isolates can reorder what follows them on the line (Trojan Source).
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text from the network made safe to draw: no escape sequences, no controls except \n and \t, no bidi overrides. */
export function sanitize(text: string): string {
  return text
    .replace(STRING_SEQUENCE, '')
    .replace(CSI, '')
    .replace(OTHER_ESCAPE, '')
    .replace(CONTROLS, '')
    .replace(BIDI, '');
}

/** sanitize(), then on one line: line breaks and tabs become spaces (nicks, room names, status text). */
export function sanitizeLine(text: string): string {
  return sanitize(text).replace(/[\n\t]/g, ' ');
}
