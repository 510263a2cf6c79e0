// Where a backup's bytes go and what moving them costs (not a test): H hosts back up and
// restore an M MiB archive each through the backup service, and bare uploads and
// downloads of the same archives go straight to a bucket; around each, nats-server's
// /varz in_bytes and out_bytes (everything the server read from and wrote to its clients)
// as multiples of the archives' bytes, and the CPU seconds nats-server, the backup
// service and this process (the hosts) spent. Plain and sealed, on the embedded default,
// the service as its own process.
//
//   node tests/bench/backup-hops.ts [--hosts 8 --mib 64]
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '8' }, mib: { type: 'string', default: '64' } } });
const HOSTS = Number(values.hosts);
const MIB = Number(values.mib);

/** CPU seconds (user + system) a process has spent, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 a second)
}

async function main(): Promise<void> {
  setSha256Backend('native');
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-bench-hops-'));
  const servers = await startEmbeddedServers(dir);
  const natsUrl = servers.natsUrl;
  let service: ServiceProcess | undefined;
  const conns: NatsConnection[] = [];
  try {
    const varz = async (): Promise<{ in: number; out: number }> => {
      const v = (await (await fetch(`${servers.natsMonitorUrl}/varz`)).json()) as { in_bytes: number; out_bytes: number };
      return { in: v.in_bytes, out: v.out_bytes };
    };
    const payload = await randomFile(dir, MIB * 1024 * 1024);
    const files = await Promise.all(Array.from({ length: HOSTS }, (_, i) => makeArchive(dir, `host-${i}`, payload)));
    const bytes = (await stat(files[0] as string)).size * HOSTS;
    const cpu = async () => ({
      nats: await cpuSeconds(servers.pids.nats),
      service: await cpuSeconds(service?.child.pid as number),
      hosts: process.cpuUsage(),
    });
    /** What `f` moved through nats-server and what it cost in CPU, as a row. */
    const measure = async (what: string, f: () => Promise<unknown>): Promise<Record<string, number | string>> => {
      await sleep(500); // heartbeats and pings aside, the server is quiet before
      const [v0, c0, t0] = [await varz(), await cpu(), performance.now()];
      await f();
      const seconds = (performance.now() - t0) / 1000;
      await sleep(500);
      const [v1, c1] = [await varz(), await cpu()];
      const hostCpu = process.cpuUsage(c0.hosts);
      const x = (n: number): number => Number((n / bytes).toFixed(2));
      const s = (n: number): number => Number(n.toFixed(2));
      return {
        what,
        seconds: s(seconds),
        natsInBytesX: x(v1.in - v0.in),
        natsOutBytesX: x(v1.out - v0.out),
        natsCpuSeconds: s(c1.nats - c0.nats),
        serviceCpuSeconds: s(c1.service - c0.service),
        hostsCpuSeconds: s((hostCpu.user + hostCpu.system) / 1e6),
        loadAverage: s(loadavg()[0] ?? 0),
      };
    };
    for (let i = 0; i < HOSTS; i++) conns.push(await connectBus({ servers: natsUrl, name: `hops-host-${i}` }));
    const js = jetstream(conns[0] as NatsConnection, { timeout: 60_000 });
    const bare = await new Objm(js).create('bare');
    const bareStorage = new ObjectStoreStorage(bare, js, 'bare');
    const stores = conns.map(
      (nc, i) =>
        new BusBackupStore({
          bus: new Bus({ nc, log: silentLogger(), registry: createRegistry('agent', { processMetrics: false }) }),
          hostId: `h-${i}`,
        }),
    );
    const manifests = await Promise.all(files.map(manifestDigest));
    const hosts: BenchHosts = { conns, stores, files, manifests };
    const rows: Record<string, number | string>[] = [];
    for (const sealed of [false, true]) {
      await service?.kill();
      service = await spawnBackupService({ dir, natsUrl, mongoUri: servers.mongoUri('hops'), sealed });
      const mode = sealed ? 'sealed' : 'plain';
      const names = files.map((_, i) => `${mode}-${i}`);
      rows.push(await measure(`${mode} bare upload`, () => bareUploads(hosts, names)));
      rows.push(await measure(`${mode} bare download`, () => bareDownloads(bareStorage, names, dir)));
      let ids: string[] = [];
      rows.push(
        await measure(`${mode} backup`, async () => {
          ids = await backups(hosts, (i) => `run-${mode}-${i}`);
        }),
      );
      rows.push(await measure(`${mode} restore`, () => restores(hosts, ids)));
    }
    process.stdout.write(`${HOSTS} × ${MIB} MiB; bytes through nats-server as multiples of the archives' bytes:\n`);
    console.table(rows);
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
