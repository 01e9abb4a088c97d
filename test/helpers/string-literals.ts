// The string literals of a TypeScript file, with their line numbers, for tests that read the source (the guard
// against English sentences outside the catalogue). A small scanner, not a parser: comments are skipped, a
// template's `${...}` parts are scanned as code (their own literals are listed too) and stand as one space in the
// template's text, and a `/` after an operator or bracket starts a regular expression.

export interface Literal {
  line: number;
  text: string;
}

const REGEX_AFTER = new Set(['', '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);

export function stringLiterals(source: string): Literal[] {
  const found: Literal[] = [];
  let i = 0;
  const lineAt = (at: number) => source.slice(0, at).split('\n').length;

  /** Code up to the `}` that closes a `${` (depth 0 when called), or to the end; returns the index after it. */
  function code(inTemplate: boolean): void {
    let depth = 0;
    let previous = '';
    while (i < source.length) {
      const c = source[i]!;
      const next = source[i + 1];
      if (c === '/' && next === '/') {
        while (i < source.length && source[i] !== '\n') i++;
      } else if (c === '/' && next === '*') {
        const end = source.indexOf('*/', i + 2);
        i = end < 0 ? source.length : end + 2;
      } else if (c === "'" || c === '"') {
        const start = i++;
        let text = '';
        while (i < source.length && source[i] !== c && source[i] !== '\n') {
          if (source[i] === '\\') text += source[++i] ?? '';
          else text += source[i];
          i++;
        }
        i++;
        found.push({ line: lineAt(start), text });
        previous = 'x';
      } else if (c === '`') {
        template();
        previous = 'x';
      } else if (c === '/' && (REGEX_AFTER.has(previous) || /\b(return|typeof|case|of|in)$/.test(source.slice(Math.max(0, i - 7), i).trimEnd()))) {
        i++;
        let inClass = false;
        while (i < source.length && source[i] !== '\n' && (source[i] !== '/' || inClass)) {
          if (source[i] === '\\') i++;
          else if (source[i] === '[') inClass = true;
          else if (source[i] === ']') inClass = false;
          i++;
        }
        i++;
        previous = 'x';
      } else {
        if (c === '{') depth++;
        if (c === '}') {
          if (depth === 0 && inTemplate) {
            i++;
            return;
          }
          depth--;
        }
        if (!/\s/.test(c)) previous = /[\w$)\].]/.test(c) ? 'x' : c;
        i++;
      }
    }
  }

  function template(): void {
    const start = i++;
    let text = '';
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') {
        text += source[i + 1] ?? '';
        i += 2;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        i += 2;
        code(true);
        text += ' ';
      } else {
        text += source[i++];
      }
    }
    i++;
    found.push({ line: lineAt(start), text });
  }

  code(false);
  return found;
}
