// Static API tokens: `yx_` and 32 random bytes, given to a person or a program once and
// stored only as their SHA-256, each line of the tokens file naming an identity and its
// role (`alice operator sha256:<hex>`). A fast hash is enough: a token has 256 random
// bits, so its hash cannot be searched back to it, and a slow one would cost every request.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { type Identity, isRole, ROLES, type Role } from './roles.ts';

// What a token's line names, for callers that load only this module (the CLI).
export { isRole, ROLES, type Role } from './roles.ts';

export const API_TOKEN_PREFIX = 'yx_';
/** What a static token looks like: the prefix and 43 base64url characters (32 bytes). */
export const API_TOKEN_PATTERN = /^yx_[A-Za-z0-9_-]{43}$/;
/** An identity's name: what the audit log records. */
export const IDENTITY_NAME_PATTERN = /^[A-Za-z0-9][\w.@|:+-]{0,127}$/;

export function newApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface TokenEntry {
  name: string;
  role: Role;
  /** SHA-256 of the token, hex. */
  sha256: string;
}

/** The tokens-file line of an entry. */
export const tokenLine = (e: TokenEntry): string => `${e.name} ${e.role} sha256:${e.sha256}`;

/** Parses a tokens file; one ConfigError names every bad line. Blank lines and `#` comments are skipped. */
export function parseTokenFile(text: string, source: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source}:${i + 1}`;
    const [name = '', role = '', hash = '', ...rest] = line.split(/\s+/);
    const bad: string[] = [];
    if (rest.length > 0) bad.push('has more than three fields (name role sha256:<hex>)');
    if (!IDENTITY_NAME_PATTERN.test(name)) bad.push(`name ${JSON.stringify(name)} must match ${IDENTITY_NAME_PATTERN}`);
    if (!isRole(role)) bad.push(`role ${JSON.stringify(role)} must be one of ${ROLES.join(', ')}`);
    const sha256 = /^sha256:([0-9a-f]{64})$/.exec(hash)?.[1];
    if (!sha256) bad.push('the third field must be sha256:<64 lowercase hex digits>, the hash of the token (never the token)');
    if (names.has(name)) bad.push(`name ${name} is on an earlier line`);
    if (sha256 && hashes.has(sha256)) bad.push('the same token is on an earlier line');
    if (bad.length > 0 || !sha256 || !isRole(role)) {
      problems.push(`${where}: ${bad.join('; ')}`);
      return;
    }
    names.add(name);
    hashes.add(sha256);
    entries.push({ name, role, sha256 });
  });
  if (problems.length > 0) throw new ConfigError(`invalid API tokens file:\n  ${problems.join('\n  ')}`, { details: { problems } });
  return entries;
}

/** The tokens known now, by hash. */
export class StaticTokens {
  #byHash: Map<string, Identity>;

  constructor(entries: readonly TokenEntry[]) {
    this.#byHash = StaticTokens.#index(entries);
  }

  static #index(entries: readonly TokenEntry[]): Map<string, Identity> {
    return new Map(entries.map((e) => [e.sha256, { name: e.name, role: e.role, via: 'token' as const }]));
  }

  get size(): number {
    return this.#byHash.size;
  }

  replace(entries: readonly TokenEntry[]): void {
    this.#byHash = StaticTokens.#index(entries);
  }

  /** The identity of a token, if it is one of these. */
  identify(token: string): Identity | undefined {
    return API_TOKEN_PATTERN.test(token) ? this.#byHash.get(hashApiToken(token)) : undefined;
  }
}

/**
 * The tokens of a file, read again when it changes (checked at most every `checkEveryMs`):
 * a line removed revokes its token without a restart. A file made invalid keeps the
 * tokens last read, and says so in the log.
 */
export class TokenFile {
  readonly tokens: StaticTokens;
  readonly #path: string;
  readonly #log: Logger | undefined;
  readonly #checkEveryMs: number;
  #checkedAt = 0;
  #seen = '';
  #checking: Promise<void> | undefined;

  private constructor(path: string, entries: TokenEntry[], seen: string, opts: { log?: Logger; checkEveryMs?: number }) {
    this.#path = path;
    this.tokens = new StaticTokens(entries);
    this.#seen = seen;
    this.#log = opts.log;
    this.#checkEveryMs = opts.checkEveryMs ?? 2_000;
  }

  /** Reads the file; a missing or invalid file is a ConfigError naming it. */
  static async open(path: string, opts: { log?: Logger; checkEveryMs?: number; now?: number } = {}): Promise<TokenFile> {
    const { entries, seen } = await TokenFile.#read(path);
    const file = new TokenFile(path, entries, seen, opts);
    file.#checkedAt = opts.now ?? Date.now();
    return file;
  }

  static async #read(path: string): Promise<{ entries: TokenEntry[]; seen: string }> {
    let text: string;
    let seen: string;
    try {
      const st = await stat(path);
      seen = `${st.mtimeMs}:${st.size}:${st.ino}`;
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read the API tokens file ${path}: ${(err as Error).message}`, { cause: err });
    }
    return { entries: parseTokenFile(text, path), seen };
  }

  /** Reads the file again if it changed since the last look and the last look is old enough. */
  refresh(now: number = Date.now()): Promise<void> {
    if (now - this.#checkedAt < this.#checkEveryMs) return this.#checking ?? Promise.resolve();
    this.#checkedAt = now;
    this.#checking = this.#reload().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #reload(): Promise<void> {
    try {
      const st = await stat(this.#path);
      if (`${st.mtimeMs}:${st.size}:${st.ino}` === this.#seen) return;
      const { entries, seen } = await TokenFile.#read(this.#path);
      this.tokens.replace(entries);
      this.#seen = seen;
      this.#log?.info({ file: this.#path, tokens: entries.length }, 'API tokens file read again');
    } catch (err) {
      this.#log?.error(
        { file: this.#path, err: (err as Error).message },
        'API tokens file not read again; the tokens read last still hold',
      );
    }
  }
}
