// An upload verified and stored in one pass over its bytes, as they arrive: SHA-256 and
// size of the archive, its tar members and manifest, sealing when a key is set, and the
// write into the store, with no copy on disk and no second read. What was stored is then
// checked against what the store records (size and SHA-256 of the stored bytes, which
// every later read is checked against), so a backup is only called verified when the
// archive is what the agent declared and the store holds exactly what was written.
import { createHash } from 'node:crypto';
import { BACKUP_MANIFEST_MEMBER, type BackupManifest, BackupManifestError, manifestMismatch, parseBackupManifest } from '@yixing/common';
import type { BackupDoc } from '../catalog/backup.model.ts';
import { type SealingKey, seal } from '../crypto/sealed-stream.ts';
import type { ArchiveStorage } from '../storage/archive-storage.ts';
import type { VerifyPhases } from '../verify-span.ts';
import { type TarFindings, TarScan } from './tar-scan.ts';

/** What the pass found: the catalogue's facts, or why the backup fails. */
export type UploadFinding = { ok: true; manifest: BackupManifest; storedBytes: number } | { ok: false; reason: string };

/** Passes the bytes on unchanged, counting them and hashing them if asked to. */
function hashed(
  source: AsyncIterable<Uint8Array>,
  seen: { sha?: ReturnType<typeof createHash>; bytes: number },
): AsyncIterable<Uint8Array> {
  return (async function* () {
    for await (const c of source) {
      seen.sha?.update(c);
      seen.bytes += c.length;
      yield c;
    }
  })();
}

/**
 * Reads `pieces` once, writing them to `doc.object` (sealed with `key` when given), and
 * checks them as they pass. Errors reading the pieces or writing the store are thrown
 * (the caller tells damage from an unavailable store); what is wrong with the archive is
 * the finding. A failing archive may have been stored: the caller removes it.
 */
export async function storeVerifying(
  doc: Pick<BackupDoc, 'object' | 'sha256' | 'sizeBytes' | 'manifestSha256' | 'paths'>,
  pieces: AsyncIterable<Uint8Array>,
  storage: ArchiveStorage,
  key: SealingKey | undefined,
  phases: VerifyPhases = { phase: (_name, fn) => fn() },
): Promise<UploadFinding> {
  // Unsealed, the store hashes exactly the archive's bytes as it writes them: that digest
  // is the archive's, and hashing them here as well would only do it twice.
  const plain = { sha: key ? createHash('sha256') : undefined, bytes: 0 };
  const tar = new TarScan();
  let findings: TarFindings | undefined;
  async function* scanned(): AsyncIterable<Uint8Array> {
    for await (const c of hashed(pieces, plain)) {
      await tar.write(c);
      yield c;
    }
    findings = await tar.end();
  }
  const written = key ? seal(scanned(), key) : scanned();
  const put = await phases.phase('backup upload', () => storage.put(doc.object, written));
  const actual = plain.sha ? plain.sha.digest('hex') : put.sha256;
  if (actual !== doc.sha256) return fail(`checksum: uploaded archive has SHA-256 ${actual}, the agent declared ${doc.sha256}`);
  if (plain.bytes !== doc.sizeBytes) return fail(`size: uploaded archive has ${plain.bytes} bytes, the agent declared ${doc.sizeBytes}`);
  const described = checkManifest(doc, findings ?? (await tar.end()));
  if (typeof described === 'string') return fail(`manifest: ${described}`);
  // The store's own record of the object, which every later read is checked against, must
  // be the digest of what was written (unsealed, the archive's own SHA-256).
  const record = await phases.phase('backup store', () => storage.stat(doc.object));
  if (record.size !== put.size || record.sha256 !== put.sha256)
    return fail(
      `stored copy: the store records ${record.size} bytes with SHA-256 ${record.sha256}; ${put.size} bytes with SHA-256 ${put.sha256} were written`,
    );
  return { ok: true, manifest: described, storedBytes: put.size };
}

const fail = (reason: string): UploadFinding => ({ ok: false, reason });

/**
 * The archive's manifest must be there, match the SHA-256 the agent declared, parse, and
 * describe exactly the declared paths, each of which the archive must hold. Returns the
 * manifest, or what is wrong with it (pure).
 */
export function checkManifest(doc: Pick<BackupDoc, 'manifestSha256' | 'paths'>, tar: TarFindings): BackupManifest | string {
  if (tar.problem) return tar.problem;
  const bytes = tar.member;
  if (!bytes?.length) return `the archive has no ${BACKUP_MANIFEST_MEMBER}`;
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (doc.manifestSha256 && sha !== doc.manifestSha256)
    return `${BACKUP_MANIFEST_MEMBER} has SHA-256 ${sha}, the agent declared ${doc.manifestSha256}`;
  try {
    const manifest = parseBackupManifest(bytes);
    return manifestMismatch(manifest, doc.paths, tar.members) ?? manifest;
  } catch (err) {
    if (err instanceof BackupManifestError) return err.message;
    throw err;
  }
}
