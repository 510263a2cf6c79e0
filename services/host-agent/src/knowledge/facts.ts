// The facts knowledge rules are evaluated against, read from a root (reads only): its
// packages joined with what the upgrade preview does to each, the files the rules ask
// about, loaded kernel modules (a live host only), network interface names in its
// configuration, kernel arguments, enabled services and configured repositories.
import { glob, lstat, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { HostRoot } from '../os/host-root.ts';
import { readAptSources } from '../pm/apt-root.ts';
import { readDnfRepos } from '../pm/dnf-root.ts';
import type { InstalledPackage, PackageFate, UpgradePreview } from '../pm/package-manager.ts';
import type { Profile } from '../profiles/profile.ts';
import type { KnowledgeRule } from './rule.ts';

export interface PackageFact {
  name: string;
  arch: string;
  version: string;
  source?: string;
  /** What the upgrade does to it; absent when there is no preview. */
  fate?: PackageFate;
  /** Its version after the upgrade, when it has one. */
  to?: string;
}

export interface FileFact {
  /** Absolute path in the root. */
  path: string;
  type: 'file' | 'link' | 'dir' | 'other';
  /** The first CONTENT_BYTES of a regular file, when a rule asks about its content. */
  text?: string;
}

export interface InterfaceFact {
  name: string;
  /** The configuration file naming it, absolute in the root. */
  file: string;
}

export interface RepositoryFact {
  uri: string;
  file: string;
  enabled: boolean;
  /** One of the profile's source or target repositories. */
  known: boolean;
}

export interface HostFacts {
  packages: PackageFact[];
  /** By the glob a rule gave. */
  files: Record<string, FileFact[]>;
  /** Loaded kernel modules; null where they cannot be known (a root that is not the running host). */
  modules: string[] | null;
  interfaces: InterfaceFact[];
  kernelArgs: string[];
  services: { enabled: string[]; running: string[] | null };
  repositories: RepositoryFact[];
}

export const CONTENT_BYTES = 64 * 1024;
/** More paths than this for one glob are not read (a rule's glob that walks a whole tree). */
const MAX_FILES_PER_GLOB = 5000;

const readText = (root: HostRoot, p: string): Promise<string> => readFile(root.at(p), 'utf8').catch(() => '');

async function listDir(root: HostRoot, dir: string): Promise<string[]> {
  try {
    return (await readdir(root.at(dir))).sort();
  } catch {
    return [];
  }
}

/** Installed packages with what the preview says the upgrade does to each. */
export function packageFacts(installed: InstalledPackage[], preview: UpgradePreview | null): PackageFact[] {
  const changes = new Map((preview?.changes ?? []).map((c) => [`${c.name}:${c.arch}`, c]));
  return installed.map((p) => {
    const c = changes.get(`${p.name}:${p.arch}`);
    const fate: PackageFate | undefined = c?.fate;
    return {
      name: p.name,
      arch: p.arch,
      version: p.version,
      ...(p.source ? { source: p.source } : {}),
      ...(fate ? { fate } : {}),
      ...(c?.to ? { to: c.to } : {}),
    };
  });
}

async function fileFacts(root: HostRoot, pattern: string, withText: boolean): Promise<FileFact[]> {
  const out: FileFact[] = [];
  for await (const rel of glob(pattern.replace(/^\/+/, ''), { cwd: root.path })) {
    if (out.length >= MAX_FILES_PER_GLOB) break;
    const p = `/${rel}`;
    const st = await lstat(root.at(p)).catch(() => null);
    if (!st) continue;
    const type = st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'other';
    let text: string | undefined;
    if (withText && type === 'file') {
      const fh = await open(root.at(p), 'r');
      try {
        const buf = Buffer.alloc(Math.min(CONTENT_BYTES, st.size));
        const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
        text = buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await fh.close();
      }
    }
    out.push({ path: p, type, ...(text === undefined ? {} : { text }) });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Interface names in ifcfg files, ifupdown, NetworkManager, netplan and systemd-networkd configuration. */
export async function interfaceFacts(root: HostRoot): Promise<InterfaceFact[]> {
  const out: InterfaceFact[] = [];
  const add = (name: string | undefined, file: string): void => {
    if (name && name !== 'lo' && !out.some((i) => i.name === name && i.file === file)) out.push({ name, file });
  };
  const scripts = '/etc/sysconfig/network-scripts';
  for (const f of (await listDir(root, scripts)).filter((n) => n.startsWith('ifcfg-'))) {
    const file = `${scripts}/${f}`;
    const device = /^\s*DEVICE\s*=\s*["']?([^"'\s]+)/m.exec(await readText(root, file))?.[1];
    add(device ?? f.slice('ifcfg-'.length), file);
  }
  for (const file of [
    '/etc/network/interfaces',
    ...(await listDir(root, '/etc/network/interfaces.d')).map((f) => `/etc/network/interfaces.d/${f}`),
  ])
    for (const m of (await readText(root, file)).matchAll(/^\s*(auto|allow-[a-z]+|iface)\s+([^#\n]+)/gm)) {
      const names = (m[2] as string).trim().split(/\s+/);
      for (const n of m[1] === 'iface' ? names.slice(0, 1) : names) add(n.split(':')[0], file);
    }
  const nm = '/etc/NetworkManager/system-connections';
  for (const f of await listDir(root, nm))
    add(/^\s*interface-name\s*=\s*(\S+)/m.exec(await readText(root, `${nm}/${f}`))?.[1], `${nm}/${f}`);
  for (const f of (await listDir(root, '/etc/netplan')).filter((n) => /\.ya?ml$/.test(n))) {
    const file = `/etc/netplan/${f}`;
    let doc: { network?: { ethernets?: Record<string, { 'set-name'?: string } | null> } } | null = null;
    try {
      doc = parseYaml(await readText(root, file));
    } catch {
      continue;
    }
    for (const [id, e] of Object.entries(doc?.network?.ethernets ?? {})) add(e?.['set-name'] ?? id, file);
  }
  for (const f of (await listDir(root, '/etc/systemd/network')).filter((n) => n.endsWith('.network'))) {
    const file = `/etc/systemd/network/${f}`;
    for (const m of (await readText(root, file)).matchAll(/^\s*Name\s*=\s*(.+)$/gm))
      for (const n of (m[1] as string).trim().split(/\s+/)) add(n, file);
  }
  return out;
}

/** Arguments of the boot loader's default command line, and of the running kernel's on a live host. */
export async function kernelArgFacts(root: HostRoot): Promise<string[]> {
  const args = new Set<string>();
  const split = (line: string): void => {
    for (const a of line.trim().split(/\s+/).filter(Boolean)) args.add(a);
  };
  for (const m of (await readText(root, '/etc/default/grub')).matchAll(/^\s*GRUB_CMDLINE_LINUX(?:_DEFAULT)?\s*=\s*(["']?)(.*)\1\s*$/gm))
    split(m[2] as string);
  split(await readText(root, '/etc/kernel/cmdline'));
  if (root.isHost) split(await readText(root, '/proc/cmdline'));
  return [...args];
}

/** Services enabled in the root: systemd *.wants / *.requires links, and SysV start links of the multi-user runlevels. */
export async function enabledServices(root: HostRoot): Promise<string[]> {
  const out = new Set<string>();
  const systemd = '/etc/systemd/system';
  for (const d of (await listDir(root, systemd)).filter((n) => /\.(wants|requires)$/.test(n)))
    for (const u of await listDir(root, `${systemd}/${d}`)) if (u.endsWith('.service')) out.add(u.slice(0, -'.service'.length));
  for (const level of ['2', '3', '4', '5'])
    for (const l of await listDir(root, `/etc/rc${level}.d`)) {
      const m = /^S\d\d(.+)$/.exec(l);
      if (m) out.add(m[1] as string);
    }
  return [...out].sort();
}

/** Loaded kernel modules of the live host; null in a chroot, or where the kernel lists none (no /proc/modules). */
async function loadedModules(root: HostRoot): Promise<string[] | null> {
  if (!root.isHost) return null;
  const text = await readFile('/proc/modules', 'utf8').catch(() => null);
  if (text === null) return null;
  return text
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

const norm = (u: string): string => u.replace(/\/+$/, '');

async function repositoryFacts(root: HostRoot, profile: Profile): Promise<RepositoryFact[]> {
  const known = new Set(
    [
      ...[...(profile.apt?.sourceRepositories ?? []), ...(profile.apt?.repositories ?? [])].flatMap((r) => [r.uri, ...(r.aliases ?? [])]),
      ...[...(profile.dnf?.sourceRepositories ?? []), ...(profile.dnf?.repositories ?? [])].flatMap((r) => [
        r.baseurl,
        ...(r.aliases ?? []),
      ]),
    ].map(norm),
  );
  const repos = profile.driver === 'apt' ? await readAptSources(root) : await readDnfRepos(root);
  return repos.map((r) => ({ uri: r.uri, file: `/${r.file}`, enabled: r.enabled, known: known.has(norm(r.uri)) }));
}

export interface FactSources {
  root: HostRoot;
  profile: Profile;
  installed: InstalledPackage[];
  preview: UpgradePreview | null;
  running: string[] | null;
}

/** The facts `rules` need from the root (files: only the globs they name). */
export async function gatherFacts(s: FactSources, rules: KnowledgeRule[]): Promise<HostFacts> {
  const globs = new Map<string, boolean>();
  for (const r of rules)
    for (const sel of [...r.match, ...r.unless])
      if (sel.file) globs.set(sel.file.path, (globs.get(sel.file.path) ?? false) || sel.file.contains !== undefined);
  const files: Record<string, FileFact[]> = {};
  for (const [g, withText] of globs) files[g] = await fileFacts(s.root, g, withText);
  return {
    packages: packageFacts(s.installed, s.preview),
    files,
    modules: await loadedModules(s.root),
    interfaces: await interfaceFacts(s.root),
    kernelArgs: await kernelArgFacts(s.root),
    services: { enabled: await enabledServices(s.root), running: s.running },
    repositories: (await repositoryFacts(s.root, s.profile)).filter((r) => r.enabled),
  };
}

export interface PathMeasure {
  /** Bytes of its regular files (links not followed). */
  bytes: number;
  /** The path itself or the first path under it on another filesystem than its parent directory. */
  mountPoint: string | null;
}

/** Size of a data path in the root and whether a filesystem is mounted on or in it; null when it does not exist. */
export async function measurePath(root: HostRoot, p: string): Promise<PathMeasure | null> {
  const top = await lstat(root.at(p)).catch(() => null);
  if (!top) return null;
  const parent = await lstat(path.dirname(root.at(p)));
  if (top.dev !== parent.dev) return { bytes: 0, mountPoint: p };
  if (!top.isDirectory()) return { bytes: top.size, mountPoint: null };
  let bytes = 0;
  for (const e of await readdir(root.at(p), { recursive: true, withFileTypes: true })) {
    if (!e.isFile() && !e.isDirectory()) continue;
    const full = path.join(e.parentPath, e.name);
    const st = await lstat(full);
    // A directory on another filesystem is a mount point (not descended into by a size; the
    // restore's swap must not be given one).
    if (st.dev !== top.dev) return { bytes, mountPoint: `/${path.relative(root.path, full)}` };
    if (e.isFile()) bytes += st.size;
  }
  return { bytes, mountPoint: null };
}
