// The languages of the console: zh-CN first (the default), en second.
import { type Catalog, en } from './en.ts';
import { zhCN } from './zh-CN.ts';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'zh-CN';

/** Each language's name in itself, for the switch. */
export const LANGUAGE_NAMES: Record<Language, string> = { 'zh-CN': '中文', en: 'English' };

export const CATALOGS: Record<Language, Catalog> = { 'zh-CN': zhCN, en };

export const isLanguage = (s: unknown): s is Language => typeof s === 'string' && (LANGUAGES as readonly string[]).includes(s);

/** Every key of a catalog as a dotted path, sorted (for the parity check). */
export function keysOf(catalog: object, prefix = ''): string[] {
  return Object.entries(catalog)
    .flatMap(([k, v]) => (typeof v === 'object' && v !== null ? keysOf(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
    .sort();
}

/** The {{placeholders}} a string uses, sorted. */
export const placeholdersOf = (s: string): string[] => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1] as string).sort();
