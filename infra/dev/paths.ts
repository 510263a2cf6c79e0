import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Git-ignored: built binaries and images' build contexts.
export const cacheDir = path.join(repoRoot, '.cache');
export const binDir = path.join(cacheDir, 'bin');
// Git-ignored: data of the servers started by `npm start` (YX_DATA_DIR puts it elsewhere,
// as the README test does to run beside a developer's own `./dev start`).
export const dataDir = path.resolve(process.env.YX_DATA_DIR ?? path.join(repoRoot, '.data'));
