// For tests: the real file system with the calls durability depends on recorded in order.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DurableFs, nodeFs } from './durable-file.ts';

/** The real file system, with every call that matters for durability recorded in order. */
export function recordingFs(base: string): { fs: DurableFs; calls: string[] } {
  const calls: string[] = [];
  const rel = (p: string): string => path.relative(base, p) || '.';
  const fs: DurableFs = {
    async open(file, flags) {
      const fh = await nodeFs.open(file, flags);
      return {
        async writeFile(data) {
          calls.push(`write ${rel(file)}`);
          await fh.writeFile(data);
        },
        async sync() {
          calls.push(`fsync ${rel(file)}`);
          await fh.sync();
        },
        createReadStream() {
          calls.push(`read ${rel(file)}`);
          return fh.createReadStream();
        },
        close: () => fh.close(),
      };
    },
    async rename(from, to) {
      calls.push(`rename ${rel(from)} ${rel(to)}`);
      await nodeFs.rename(from, to);
    },
    async copyFile(from, to) {
      calls.push(`copy ${rel(from)} ${rel(to)}`);
      await nodeFs.copyFile(from, to);
    },
  };
  return { fs, calls };
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
