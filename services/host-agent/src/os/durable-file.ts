// Writes that survive a power cut, not only a process crash: a rename is atomic but not
// durable until its directory is fsync'ed, and a file's bytes are not on disk until the
// file is. What the agent reports as verified or done must be written this way.
import type { ReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename } from 'node:fs/promises';
import path from 'node:path';

/** The file system calls durability depends on; tests record their order. */
export interface DurableFs {
  open(file: string, flags: 'r' | 'w'): Promise<DurableHandle>;
  rename(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
}

export interface DurableHandle {
  writeFile(data: string | Uint8Array): Promise<void>;
  sync(): Promise<void>;
  createReadStream(): ReadStream;
  close(): Promise<void>;
}

export const nodeFs: DurableFs = { open, rename, copyFile };

/** Makes the directory's entries (a rename, a new file) durable. */
export async function fsyncDir(dir: string, fs: DurableFs = nodeFs): Promise<void> {
  await fsyncFile(dir, fs);
}

/** Makes an existing file's contents durable. */
export async function fsyncFile(file: string, fs: DurableFs = nodeFs): Promise<void> {
  const fh = await fs.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` with `data` atomically (temp file + rename): a reader sees the old or the
 * new contents, never a part. `durable` also fsyncs the file before the rename and the
 * directory after it, so the new contents survive a power cut.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: { durable: boolean; fs?: DurableFs }): Promise<void> {
  const fs = opts.fs ?? nodeFs;
  const tmp = `${file}.tmp`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (opts.durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  if (opts.durable) await fsyncDir(path.dirname(file), fs);
}

/** Renames and makes the rename durable (both directories, when they differ). */
export async function renameDurable(from: string, to: string, fs: DurableFs = nodeFs): Promise<void> {
  await fs.rename(from, to);
  await fsyncDir(path.dirname(to), fs);
  if (path.dirname(from) !== path.dirname(to)) await fsyncDir(path.dirname(from), fs);
}

/** mkdir -p whose new directories survive a power cut (their parents are fsync'ed). */
export async function mkdirDurable(dir: string, fs: DurableFs = nodeFs): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    await fsyncDir(path.dirname(d), fs);
    if (d === path.resolve(first)) return;
  }
}

/** fsyncs every regular file and directory under `dir` (children before their directory), and `dir`. */
export async function fsyncTree(dir: string, fs: DurableFs = nodeFs): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    // Links live in their directory's entries; devices and FIFOs are not opened (a FIFO would block).
    if (entry.isDirectory()) await fsyncTree(full, fs);
    else if (entry.isFile()) await fsyncFile(full, fs);
  }
  await fsyncDir(dir, fs);
}
