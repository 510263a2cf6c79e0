// What the backup benchmarks share: the backup service as its own process (plain, or
// sealed with a fresh key), the digest of an archive's manifest as its maker knows it, and
// the hosts' bare uploads and downloads, backups and restores, all hosts at once.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ObjectStoreStorage } from '@yixing/backup/internal';
import { BACKUP_MANIFEST_MEMBER, readTarMember } from '@yixing/common';
import type { BusBackupStore } from '@yixing/host-agent/internal';
import { writeTestTokensFile } from '../fixtures/api-access.ts';
import { type ServiceProcess, spawnService } from '../fixtures/processes.ts';

export function spawnBackupService(opts: { dir: string; natsUrl: string; mongoUri: string; sealed: boolean }): Promise<ServiceProcess> {
  return writeTestTokensFile(opts.dir).then((tokens) =>
    spawnService({
      name: `backup-${opts.sealed ? 'sealed' : 'plain'}`,
      main: 'services/backup/src/main.ts',
      env: {
        YX_NATS_URL: opts.natsUrl,
        YX_MONGO_URI: opts.mongoUri,
        YX_API_PORT: '0',
        YX_API_TOKENS_FILE: tokens,
        YX_BACKUP_BUCKET: opts.sealed ? 'sealed' : 'plain',
        ...(opts.sealed ? { YX_BACKUP_KEY: randomBytes(32).toString('hex') } : {}),
      },
      ready: /^yx-backup ready/,
      logDir: opts.dir,
    }),
  );
}

/** SHA-256 of the archive's manifest, which the agent passes as the archive's maker computed it. */
export async function manifestDigest(file: string): Promise<string> {
  return createHash('sha256')
    .update((await readTarMember(file, BACKUP_MANIFEST_MEMBER)) ?? Buffer.alloc(0))
    .digest('hex');
}

/** The benchmark's hosts: a connection, a backup store and an archive (with its manifest's digest) each. */
export interface BenchHosts {
  conns: NatsConnection[];
  stores: BusBackupStore[];
  files: string[];
  manifests: string[];
}

/** Every host's archive put straight into the `bare` bucket as `names[i]`, each on its own connection. */
export function bareUploads(h: BenchHosts, names: string[]): Promise<unknown> {
  return Promise.all(
    h.files.map(async (file, i) => {
      const os = await new Objm(jetstream(h.conns[i] as NatsConnection, { timeout: 60_000 })).open('bare');
      await os.put(
        { name: names[i] as string, options: { max_chunk_size: 256 * 1024 } },
        Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
      );
    }),
  );
}

/** The same objects downloaded at once on one connection, as the service reads them. */
export function bareDownloads(storage: ObjectStoreStorage, names: string[], dir: string): Promise<unknown> {
  return Promise.all(names.map((name, i) => pipeline(storage.get(name), createWriteStream(path.join(dir, `down-${i}`)))));
}

/** Every host backs up its archive through the service at once; the backups' ids. */
export async function backups(h: BenchHosts, runId: (i: number) => string): Promise<string[]> {
  const records = await Promise.all(
    h.files.map((file, i) =>
      (h.stores[i] as BusBackupStore).put(
        { hostId: `h-${i}`, runId: runId(i), profile: 'bench', paths: ['/etc'], manifestSha256: h.manifests[i] as string },
        file,
      ),
    ),
  );
  return records.map((r) => r.id);
}

/** Every host restores its backup through the service at once (fetched and checked, then let go). */
export function restores(h: BenchHosts, ids: string[]): Promise<unknown> {
  return Promise.all(
    ids.map(async (id, i) => {
      const got = await (h.stores[i] as BusBackupStore).get(id);
      await got.release();
    }),
  );
}
