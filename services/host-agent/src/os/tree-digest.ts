// A digest of a directory tree: every entry's path, type, mode, owner, size and content
// (or link target). Two trees with the same digest are the same for a rollback's purposes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

export interface TreeEntry {
  path: string;
  line: string;
}

async function fileHash(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** One line per entry, sorted by path; the lines are what two trees are compared on. */
export async function treeEntries(dir: string, ignore: (rel: string) => boolean = () => false): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(dir, rel))).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (ignore(r)) continue;
      const full = path.join(dir, r);
      const st = await lstat(full);
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.push({ path: r, line: `${r} link ${meta} -> ${await readlink(full)}` });
      else if (st.isDirectory()) {
        out.push({ path: r, line: `${r} dir ${meta}` });
        await walk(r);
      } else if (st.isFile()) out.push({ path: r, line: `${r} file ${meta} ${st.size} ${await fileHash(full)}` });
      else out.push({ path: r, line: `${r} other ${meta}` });
    }
  };
  await walk('');
  return out;
}

export async function treeDigest(dir: string, ignore?: (rel: string) => boolean): Promise<string> {
  const h = createHash('sha256');
  for (const e of await treeEntries(dir, ignore)) h.update(`${e.line}\n`);
  return h.digest('hex');
}

/** Lines present in one tree and not the other, for a readable mismatch. */
export async function treeDiff(a: string, b: string, max = 10): Promise<string[]> {
  const [ea, eb] = await Promise.all([treeEntries(a), treeEntries(b)]);
  const sa = new Set(ea.map((e) => e.line));
  const sb = new Set(eb.map((e) => e.line));
  return [
    ...ea.filter((e) => !sb.has(e.line)).map((e) => `- ${e.line}`),
    ...eb.filter((e) => !sa.has(e.line)).map((e) => `+ ${e.line}`),
  ].slice(0, max);
}
