// The local admin token of `./dev start`: made on the first start and kept in the data
// directory (delete it, or the data directory, for a new one). The services read the
// tokens file (its hash only); the CLI reads the token (YX_TOKEN).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { API_TOKEN_PATTERN, hashApiToken, newApiToken, tokenLine } from '@yixing/common/api-tokens';

export interface DevApiToken {
  token: string;
  /** The token, alone in a file only its owner reads. */
  tokenFile: string;
  /** The services' tokens file (YX_API_TOKENS_FILE). */
  tokensFile: string;
  /** What every API service needs in its environment. */
  env: { YX_API_TOKENS_FILE: string };
  /** What `./dev start` prints about it. */
  lines: string[];
}

export const DEV_ADMIN = 'dev-admin';

/** The data directory's admin token, made if absent; its tokens file is written again each start. */
export async function devApiToken(dataDir: string): Promise<DevApiToken> {
  const dir = path.join(dataDir, 'api');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tokenFile = path.join(dir, 'admin.token');
  const tokensFile = path.join(dir, 'tokens');
  let token = (await readFile(tokenFile, 'utf8').catch(() => '')).trim();
  if (!API_TOKEN_PATTERN.test(token)) {
    token = newApiToken();
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  }
  const line = tokenLine({ name: DEV_ADMIN, role: 'admin', sha256: hashApiToken(token) });
  await writeFile(tokensFile, `# written by ./dev start from ${tokenFile}; add a line per person (yx token new NAME ROLE)\n${line}\n`, {
    mode: 0o600,
  });
  return {
    token,
    tokenFile,
    tokensFile,
    env: { YX_API_TOKENS_FILE: tokensFile },
    lines: [
      `  API token    export YX_TOKEN=$(cat ${tokenFile})   (${DEV_ADMIN}, admin; the CLI and curl -H "Authorization: Bearer $YX_TOKEN")`,
    ],
  };
}
