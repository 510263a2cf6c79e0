// The contract between the agent that makes a backup archive and the backup service that
// verifies and catalogues it: a tar holding the backed-up paths plus `yixing/backup.json`,
// which describes them (package manifest, running services, release, digest per path).
import { spawn } from 'node:child_process';
import { YxError } from '../errors.ts';

export const BACKUP_MANIFEST_MEMBER = 'yixing/backup.json';

export interface ManifestPackage {
  name: string;
  arch: string;
  version: string;
  /** Held (apt-mark hold) or version-locked (dnf versionlock). */
  held: boolean;
}

export interface BackupManifest {
  manifest: ManifestPackage[];
  services: string[];
  osRelease: { id: string; versionId: string };
  /** Tree digest of each backed-up path (absolute) when the archive was made. */
  digests: Record<string, string>;
}

/** An archive's manifest is missing, unreadable or does not describe the archive. */
export class BackupManifestError extends YxError {
  readonly code = 'BACKUP_MANIFEST_INVALID';
  readonly retryable = false;
}

/** A manifest of tens of thousands of packages is a few MiB; more is not a manifest. */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

/**
 * The bytes of one member of a tar archive, or undefined when it has no such member;
 * refused (BackupManifestError) past `maxBytes`, so an archive cannot exhaust memory.
 */
export function readTarMember(file: string, member: string, maxBytes = MAX_MANIFEST_BYTES): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-xOf', file, member], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    tar.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes > maxBytes) {
        tar.kill();
        reject(new BackupManifestError(`${member} is larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(d);
    });
    tar.on('error', reject);
    tar.on('close', (code) => resolve(code === 0 ? Buffer.concat(chunks) : undefined));
  });
}

/** Every member name of a tar archive (directories without their trailing slash). */
export function listTarMembers(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-tf', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    tar.stdout.on('data', (d: Buffer) => out.push(d));
    tar.stderr.on('data', (d: Buffer) => err.push(d));
    tar.on('error', reject);
    tar.on('close', (code) => {
      if (code !== 0) return reject(new BackupManifestError(`not a readable tar archive: ${Buffer.concat(err).toString().trim()}`));
      resolve(
        Buffer.concat(out)
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((m) => m.replace(/\/+$/, '')),
      );
    });
  });
}

// What a manifest may name. A backup is data from the bus that a root-owned agent acts on,
// so every name that reaches a command line (apt, dpkg, dnf, rpm, apt-mark) or a path
// joined to the root is checked here, on both sides: the service refuses to verify it and
// the agent refuses to restore it. Names cover Debian (policy 5.6.1) and RPM packages
// (upper case and `_` occur there); none may start with `-` (an option) or hold white
// space (a line of a `dnf shell` script); versions allow an epoch and `~`/`^` (RPM).
const PACKAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$/;
const PACKAGE_ARCH = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,31}$/;
const PACKAGE_VERSION = /^(?:\d{1,10}:)?[A-Za-z0-9_][A-Za-z0-9_.+~^-]{0,199}$/;

/** What is wrong with a manifest's package (its field and why), or undefined. */
export function manifestPackageProblem(p: Pick<ManifestPackage, 'name' | 'arch' | 'version'>): string | undefined {
  if (!PACKAGE_NAME.test(p.name)) return `name ${JSON.stringify(p.name)} is not a package name (${PACKAGE_NAME.source})`;
  if (!PACKAGE_ARCH.test(p.arch)) return `arch ${JSON.stringify(p.arch)} is not an architecture (${PACKAGE_ARCH.source})`;
  if (!PACKAGE_VERSION.test(p.version)) return `version ${JSON.stringify(p.version)} is not a package version (${PACKAGE_VERSION.source})`;
  return undefined;
}

/**
 * What is wrong with a backed-up path as a manifest names it, or undefined: it must be
 * absolute, below `/`, normalized (no `.`, `..` or empty segment, no trailing `/`), with
 * no control character, so that joined to a `--root` directory it stays inside it.
 */
export function manifestPathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'is not an absolute path';
  if (p === '/') return 'is the whole root, not a path below it';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'holds a control character';
  const segments = p.slice(1).split('/');
  if (segments.some((s) => s === '..')) return 'has a `..` segment';
  if (segments.some((s) => s === '' || s === '.')) return 'is not normalized (an empty or `.` segment, or a trailing `/`)';
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks `yixing/backup.json`; the error names the first thing wrong. */
export function parseBackupManifest(bytes: Buffer): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BackupManifestError(`${BACKUP_MANIFEST_MEMBER} is not JSON: ${(err as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new BackupManifestError(`${BACKUP_MANIFEST_MEMBER}: ${what}`);
  };
  if (!isRecord(raw)) return bad('not an object');
  if (!Array.isArray(raw.manifest)) return bad('manifest must be a list of packages');
  for (const [i, p] of raw.manifest.entries()) {
    if (!isRecord(p) || typeof p.name !== 'string' || !p.name || typeof p.version !== 'string' || !p.version)
      return bad(`manifest[${i}] must have a name and a version`);
    if (typeof p.arch !== 'string' || typeof p.held !== 'boolean') return bad(`manifest[${i}] (${p.name}) must have arch and held`);
    const problem = manifestPackageProblem(p as unknown as ManifestPackage);
    if (problem) return bad(`manifest[${i}]: ${problem}`);
  }
  // A rollback installs exactly the recorded set: an empty one would remove every package.
  if (raw.manifest.length === 0) return bad('manifest lists no packages; restoring it would remove every package');
  if (!Array.isArray(raw.services) || raw.services.some((s) => typeof s !== 'string')) return bad('services must be a list of names');
  const os = raw.osRelease;
  if (!isRecord(os) || typeof os.id !== 'string' || typeof os.versionId !== 'string') return bad('osRelease must have id and versionId');
  if (!isRecord(raw.digests) || Object.keys(raw.digests).length === 0) return bad('digests must name at least one backed-up path');
  for (const [p, d] of Object.entries(raw.digests)) {
    const problem = manifestPathProblem(p);
    if (problem) return bad(`digests: ${JSON.stringify(p)} ${problem}`);
    if (typeof d !== 'string' || !d) return bad(`digests: ${p} has no digest`);
  }
  return raw as unknown as BackupManifest;
}

/**
 * Checks that a manifest describes exactly the declared paths and that the archive holds
 * each of them (the path itself or something below it); returns the first mismatch, or undefined.
 */
export function manifestMismatch(manifest: BackupManifest, declaredPaths: string[], members: string[]): string | undefined {
  const described = Object.keys(manifest.digests).sort();
  const declared = [...declaredPaths].sort();
  if (described.join('\n') !== declared.join('\n'))
    return `manifest describes paths ${described.join(', ')}, the agent declared ${declared.join(', ') || '(none)'}`;
  for (const p of described) {
    const member = p.replace(/^\/+|\/+$/g, '');
    if (!members.some((m) => m === member || m.startsWith(`${member}/`))) return `the archive does not hold ${p}`;
  }
  return undefined;
}
