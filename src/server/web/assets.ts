// The page's static files (built by `npm run build` into dist/web from src/web), read once at start, served by
// name from a fixed set: nothing from the request ever reaches the file system.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { get as emoji, search as searchEmoji } from 'node-emoji';
import { EMOJI_ALIASES } from '../../protocol/emoji-aliases.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface Asset {
  body: Buffer;
  type: string;
}

/** dist/web: found from src/server/web (tests run the sources) or from dist/src/server/web (the built server). */
function webDir(): string | null {
  for (const up of ['../../../dist/web/', '../../../web/']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(`${dir}room.html`)) return dir;
  }
  return null;
}

const ALIASES = EMOJI_ALIASES;

/** Every shortcode the terminal client knows, for the page to turn `:smile:` into 😄 the same way. */
function emojiTable(): Buffer {
  const table: Record<string, string> = {};
  for (const { name, emoji } of searchEmoji('')) table[name] = emoji;
  for (const [alias, name] of Object.entries(ALIASES)) {
    const found = emoji(name);
    if (found) table[alias] = found;
  }
  return Buffer.from(JSON.stringify(table));
}

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = webDir();
  if (dir) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type && /^[a-z0-9-]+\.[a-z]+$/.test(name)) assets.set(name, { body: readFileSync(`${dir}${name}`), type });
    }
  }
  assets.set('emoji.json', { body: emojiTable(), type: TYPES['.json']! });
  return assets;
}
