// Who `yx` is to the APIs, and where they are: YX_TOKEN, else the `token` of the config
// file (YX_CONFIG, else $XDG_CONFIG_HOME/yixing/config.yaml, else ~/.config/yixing/config.yaml),
// which holds a secret and so is refused unless only its owner can read it (chmod 600),
// as ssh refuses a private key others can read.
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { API_TOKEN_PATTERN, hashApiToken, IDENTITY_NAME_PATTERN, isRole, newApiToken, ROLES, tokenLine } from '@yixing/common/api-tokens';
import { YxError } from '@yixing/common/errors';
import { parse as parseYaml } from 'yaml';

/** The config file is unreadable, readable by others, or not what it should be. */
export class CliConfigError extends YxError {
  readonly code = 'CLI_CONFIG_INVALID';
  readonly retryable = false;
}

export interface CliSettings {
  api?: string;
  backupApi?: string;
  alertingApi?: string;
  token?: string;
  /** Where the token came from, for error messages: YX_TOKEN or the file's path. */
  tokenFrom?: string;
  /** The config file looked at (present or not). */
  configFile: string;
}

const KEYS = ['api', 'backupApi', 'alertingApi', 'token'] as const;

export function configFile(env: Record<string, string | undefined>): string {
  if (env.YX_CONFIG) return env.YX_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'yixing', 'config.yaml');
}

/** The settings of the environment and the config file; a missing file is no settings. */
export async function readCliSettings(env: Record<string, string | undefined>): Promise<CliSettings> {
  const file = configFile(env);
  const fromFile = await readConfig(file);
  const token = env.YX_TOKEN || fromFile.token;
  return {
    configFile: file,
    ...(fromFile.api ? { api: fromFile.api } : {}),
    ...(fromFile.backupApi ? { backupApi: fromFile.backupApi } : {}),
    ...(fromFile.alertingApi ? { alertingApi: fromFile.alertingApi } : {}),
    ...(token ? { token: token.trim(), tokenFrom: env.YX_TOKEN ? 'YX_TOKEN' : file } : {}),
  };
}

async function readConfig(file: string): Promise<Partial<Record<(typeof KEYS)[number], string>>> {
  let text: string;
  try {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) {
      throw new CliConfigError(
        `${file} holds an API token and can be read by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 ${file}`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    if (err instanceof CliConfigError) throw err;
    throw new CliConfigError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new CliConfigError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || Array.isArray(doc) || doc === null) throw new CliConfigError(`${file}: expected keys ${KEYS.join(', ')}`);
  const out: Partial<Record<(typeof KEYS)[number], string>> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!(KEYS as readonly string[]).includes(k)) throw new CliConfigError(`${file}: ${k} is not a known key (${KEYS.join(', ')})`);
    if (typeof v !== 'string' || v === '') throw new CliConfigError(`${file}: ${k} must be a non-empty string`);
    out[k as (typeof KEYS)[number]] = v;
  }
  return out;
}

/** What to do about a 401 or 403, after the API's own message. */
export function accessHint(status: number, settings: CliSettings): string {
  if (status === 401 && !settings.token) {
    return `no API token: export YX_TOKEN=yx_…, or put "token: yx_…" in ${settings.configFile} (chmod 600)`;
  }
  if (status === 401) {
    const shape = API_TOKEN_PATTERN.test(settings.token ?? '') ? '' : ' (it does not look like an API token: yx_ and 43 characters)';
    return `the token from ${settings.tokenFrom} was refused${shape}; ask an admin for a valid one`;
  }
  if (status === 403) return `the token from ${settings.tokenFrom} is valid but its role may not do this; ask an admin`;
  return '';
}

/** `yx token new NAME ROLE`: a new token, and the line an admin adds to the API's tokens file. */
export function newToken(name: string, role: string): { name: string; role: string; token: string; line: string } {
  if (!IDENTITY_NAME_PATTERN.test(name)) throw new CliConfigError(`token name ${JSON.stringify(name)} must match ${IDENTITY_NAME_PATTERN}`);
  if (!isRole(role)) throw new CliConfigError(`role ${JSON.stringify(role)} must be one of ${ROLES.join(', ')}`);
  const token = newApiToken();
  return { name, role, token, line: tokenLine({ name, role, sha256: hashApiToken(token) }) };
}
