// The interface's words: t(key, params) looks the key up in the catalogue of the chosen language (en.ts, zh-CN.ts),
// and fills in `{name}` placeholders. The language is chosen once at start (chooseLanguage): --lang, the config
// file's "lang", then LC_ALL, LC_MESSAGES, LANG as POSIX orders them.

import { en, type MessageKey } from './en.js';
import { zhCN } from './zh-CN.js';

export type { MessageKey } from './en.js';
export type Language = 'en' | 'zh-CN';

export const CATALOGUES: Record<Language, { readonly [K in MessageKey]: string }> = { en, 'zh-CN': zhCN };

/** The `{name}` placeholders of a catalogue string, as a union of names. */
type Placeholders<S extends string> = S extends `${string}{${infer P}}${infer Rest}`
  ? (P extends `${string}${' ' | '"' | ':' | '{'}${string}` ? never : P) | Placeholders<Rest>
  : never;
/** t()'s params: none for a string without placeholders, else an object with every placeholder. */
type Params<K extends MessageKey> = [Placeholders<(typeof en)[K]>] extends [never]
  ? []
  : [Record<Placeholders<(typeof en)[K]>, string | number>];

let current: Language = 'en';

export function setLanguage(language: Language): void {
  current = language;
}

export function language(): Language {
  return current;
}

/** The text of `key` in the current language, its placeholders filled in. */
export function t<K extends MessageKey>(key: K, ...params: Params<K>): string {
  const template: string = CATALOGUES[current][key] ?? en[key];
  const values = (params[0] ?? {}) as Record<string, string | number>;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** Whether the catalogues have `key` (keys made from a code sent by the server). */
export function hasMessage(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** A locale name (`zh_CN.UTF-8`, `zh-TW`, `en_US`, `C`) as one of ours: any Chinese is zh-CN for now, else en. */
export function languageOf(locale: string): Language {
  return /^zh([_-]|\.|@|$)/i.test(locale) ? 'zh-CN' : 'en';
}

/** A --lang or "lang" value as one of ours, or null when it names none (only en and zh are known). */
export function parseLanguage(value: string): Language | null {
  if (/^(en|C|POSIX)([-_.@].*)?$/i.test(value)) return 'en';
  if (/^zh([-_.@].*)?$/i.test(value)) return 'zh-CN';
  return null;
}

/** --lang, then the config file's "lang", then LC_ALL, LC_MESSAGES, LANG (the first that is set and not empty). */
export function chooseLanguage(flag: string | undefined, env: Record<string, string | undefined>, configured?: string): Language {
  for (const value of [flag, configured]) {
    if (value === undefined || value === '') continue;
    const chosen = parseLanguage(value);
    if (chosen) return chosen;
  }
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return languageOf(locale);
}
