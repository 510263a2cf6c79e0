// Backup service benchmark (not a test): what the service's guarantees cost. C hosts back
// up an M MiB archive at once through the backup service (slot, the archive's pieces on
// each host's subject, verified as they arrive: SHA-256, tar members and manifest, sealed
// when the service has a key, written to the store), against the same archives put
// straight into an Object Store bucket by the same connections (what any upload costs);
// and C restores (the service reads, unseals and checks, the agent fetches and checks
// again) against plain downloads of the same archives on one connection (readObject).
// Plain and sealed (AES-256-GCM), on the embedded default. Where the bytes go and the CPU
// each process spends: tests/bench/backup-hops.ts.
//
//   npm run bench:backup [-- --hosts 8 --mib 64 --rounds 3]
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { Objm, setSha256Backend } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { ObjectStoreStorage } from '@yixing/backup/internal';
import { Bus, connectBus, createRegistry, silentLogger } from '@yixing/common';
import { BusBackupStore } from '@yixing/host-agent/internal';
import { makeArchive, randomFile } from '../fixtures/archives.ts';
import type { ServiceProcess } from '../fixtures/processes.ts';
import {
  type BenchHosts,
  backups,
  bareDownloads,
  bareUploads,
  manifestDigest,
  restores,
  spawnBackupService,
} from './backup-bench-parts.ts';
import { startEmbeddedServers } from './embedded-servers.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '8' },
    mib: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
  },
});
const HOSTS = Number(values.hosts);
const MIB = Number(values.mib);
const ROUNDS = Number(values.rounds);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const seconds = async (f: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
};

async function main(): Promise<void> {
  // The bare uploads hash with Node's SHA-256, as the service does: the client's default
  // JavaScript one made a bare upload of 512 MiB take 20 s instead of 6 s.
  setSha256Backend('native');
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-backup-'));
  const servers = await startEmbeddedServers(dir);
  const conns: NatsConnection[] = [];
  let service: ServiceProcess | undefined;
  try {
    const payload = await randomFile(dir, MIB * 1024 * 1024);
    const archives = await Promise.all(Array.from({ length: HOSTS }, (_, i) => makeArchive(dir, `host-${i}`, payload)));
    // As the migration driver does: the digest of the manifest it wrote goes with the archive.
    const manifests = await Promise.all(archives.map(manifestDigest));
    // One connection per host, as on separate machines.
    for (let i = 0; i < HOSTS; i++) conns.push(await connectBus({ servers: servers.natsUrl, name: `bench-host-${i}` }));
    const js = jetstream(conns[0] as NatsConnection, { timeout: 60_000 });
    const bare = await new Objm(js).create('bare');
    const bareStorage = new ObjectStoreStorage(bare, js, 'bare');
    const log = silentLogger();
    const stores = conns.map(
      (nc, i) =>
        new BusBackupStore({
          bus: new Bus({ nc, log, registry: createRegistry('agent', { processMetrics: false }) }),
          hostId: `h-${i}`,
          log: (l) => process.stderr.write(`h-${i}: ${l}\n`),
        }),
    );
    const hosts: BenchHosts = { conns, stores, files: archives, manifests };
    const rows: Record<string, number | string>[] = [];
    for (const sealed of [false, true]) {
      await service?.kill();
      service = await spawnBackupService({ dir, natsUrl: servers.natsUrl, mongoUri: servers.mongoUri('bench'), sealed });
      const up: number[] = [];
      const down: number[] = [];
      const backup: number[] = [];
      const restore: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const names = archives.map((_, i) => `r${round}-h${i}-${sealed}`);
        up.push(await seconds(() => bareUploads(hosts, names)));
        // The same downloads on one connection, as the service makes them.
        down.push(await seconds(() => bareDownloads(bareStorage, names, dir)));
        let ids: string[] = [];
        backup.push(
          await seconds(async () => {
            ids = await backups(hosts, (i) => `run-${round}-${i}`);
          }),
        );
        restore.push(await seconds(() => restores(hosts, ids)));
        process.stderr.write(`${sealed ? 'sealed' : 'plain'} round ${round + 1}/${ROUNDS}\n`);
      }
      const mib = HOSTS * MIB;
      const rate = (xs: number[]) => Number((mib / median(xs)).toFixed(0));
      rows.push({
        mode: sealed ? 'sealed' : 'plain',
        hosts: HOSTS,
        mibEach: MIB,
        bareUploadSeconds: Number(median(up).toFixed(2)),
        bareUploadMiBps: rate(up),
        backupVerifiedSeconds: Number(median(backup).toFixed(2)),
        backupMiBps: rate(backup),
        backupOverBareUpload: Number((median(backup) / median(up)).toFixed(2)),
        bareDownloadSeconds: Number(median(down).toFixed(2)),
        bareDownloadMiBps: rate(down),
        restoreSeconds: Number(median(restore).toFixed(2)),
        restoreMiBps: rate(restore),
        restoreOverBareDownload: Number((median(restore) / median(down)).toFixed(2)),
        // The machine is shared: how busy it was (1-minute load average, 2 cores) when this mode ended.
        loadAverage: Number(loadavg()[0]?.toFixed(2)),
      });
    }
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    await writeBenchResult('backup', rows);
  } finally {
    await service?.kill();
    for (const c of conns) await c.close();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
