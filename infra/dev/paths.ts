import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Git-ignored: built binaries and images' build contexts.
export const cacheDir = path.join(repoRoot, '.cache');
export const binDir = path.join(cacheDir, 'bin');
// Git-ignored: data of the servers started by `npm start`.
export const dataDir = path.join(repoRoot, '.data');
