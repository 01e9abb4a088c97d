// The parts of blessed the client loads one by one (blessed-screen.ts, blessed-width.ts) instead of blessed's
// index, which loads every widget: @types/blessed describes only the index.

declare module 'blessed/lib/tput.js' {
  class Tput {
    _compile(info: unknown, key: string, value: unknown): unknown;
  }
  export default Tput;
}

declare module 'blessed/lib/widgets/screen.js' {
  import type blessed from 'blessed';
  const Screen: new (options: blessed.Widgets.IScreenOptions) => blessed.Widgets.Screen;
  export default Screen;
}

declare module 'blessed/lib/widgets/box.js' {
  import type blessed from 'blessed';
  const Box: new (options: blessed.Widgets.BoxOptions) => blessed.Widgets.BoxElement;
  export default Box;
}

declare module 'blessed/lib/unicode.js' {
  const unicode: {
    charWidth(str: string | number, i?: number): number;
    codePointAt(str: string, i: number): number;
    combining: Record<number, boolean>;
    chars: { all: RegExp };
  };
  export default unicode;
}
