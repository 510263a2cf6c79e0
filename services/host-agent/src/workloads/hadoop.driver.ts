// Big-data nodes through Hadoop's own admin commands. HDFS: the datanode goes into
// maintenance (the JSON dfs.hosts file) or is decommissioned (the exclude file), the
// namenode is told (`hdfs dfsadmin -refreshNodes`) and the drain waits until it says so;
// undrain puts the file back as it was. YARN: the node manager is decommissioned
// gracefully (`yarn rmadmin -refreshNodes -g`) and taken back. The hosts files are the
// namenode's and resource manager's, reached at the path the hook names (shared or local).
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../os/durable-file.ts';
import type { HdfsHook, YarnHook } from './workload-config.ts';
import { mustRunWorkload, pollUntil, type RestoreResult, type WorkloadDriver, type WorkloadEnv } from './workload-driver.ts';

/** An exclude file with `host` on its own line; `added` false when it was there. Pure. */
export function withHost(text: string, host: string): { text: string; added: boolean } {
  const lines = text.split('\n').map((l) => l.trim());
  if (lines.includes(host)) return { text, added: false };
  const body = text.length === 0 || text.endsWith('\n') ? text : `${text}\n`;
  return { text: `${body}${host}\n`, added: true };
}

/** The exclude file without `host`'s line. Pure. */
export function withoutHost(text: string, host: string): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== host)
    .join('\n');
}

interface HostEntry {
  hostName: string;
  adminState?: string;
  [k: string]: unknown;
}

function entries(text: string, file: string): HostEntry[] {
  const parsed = text.trim() === '' ? [] : (JSON.parse(text) as unknown);
  if (!Array.isArray(parsed)) throw new Error(`${file} is not a JSON array of hosts (the combined dfs.hosts format)`);
  return parsed as HostEntry[];
}

/** The JSON hosts file with `host` in maintenance, and its entry before (null: none). Pure. */
export function withMaintenance(text: string, host: string, file: string): { text: string; previous: HostEntry | null } {
  const list = entries(text, file);
  const previous = list.find((e) => e.hostName === host) ?? null;
  const entry: HostEntry = { ...(previous ?? { hostName: host }), adminState: 'IN_MAINTENANCE' };
  delete entry.maintenanceExpireTimeInMS;
  const next = previous ? list.map((e) => (e === previous ? entry : e)) : [...list, entry];
  return { text: `${JSON.stringify(next, null, 2)}\n`, previous };
}

/** The JSON hosts file with `host`'s entry as it was before the drain. Pure. */
export function withEntryRestored(text: string, host: string, previous: HostEntry | null, file: string): string {
  const list = entries(text, file).filter((e) => e.hostName !== host);
  return `${JSON.stringify(previous ? [...list, previous] : list, null, 2)}\n`;
}

/** A datanode's admin state in `hdfs dfsadmin -report` ("Normal", "In maintenance", ...). Pure. */
export function datanodeStatus(report: string, host: string): string | undefined {
  for (const block of report.split(/\n\s*\n/)) {
    const name = /^Name: (\S+)(?: \((\S+)\))?$/m.exec(block);
    const hostname = /^Hostname: (\S+)$/m.exec(block)?.[1];
    if (!name || (hostname !== host && name[2] !== host && name[1]?.split(':')[0] !== host)) continue;
    return /^Decommission Status : (.+)$/m.exec(block)?.[1]?.trim();
  }
  return undefined;
}

/** A node manager's state in `yarn node -list -all` ("RUNNING", "DECOMMISSIONED", ...). Pure. */
export function nodeManagerState(list: string, host: string): string | undefined {
  for (const line of list.split('\n')) {
    const [id, state] = line.trim().split(/\s+/);
    if (id?.split(':')[0] === host && state) return state;
  }
  return undefined;
}

const readText = (file: string): Promise<string> =>
  readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });

/** Checks until no problem is left or the time is up; the last check's problems. */
async function problemsAfterWaiting(env: WorkloadEnv, check: () => Promise<string[]>, timeoutMs: number): Promise<string[]> {
  let last: string[] = [];
  await pollUntil(
    env,
    async () => {
      last = await check();
      return last.length === 0;
    },
    timeoutMs,
    10_000,
  );
  return last;
}

export interface HdfsRecord {
  hdfs: string[];
  mode: 'decommission' | 'maintenance';
  hostsFile: string;
  host: string;
  /** decommission: whether drain added the line; maintenance: the host's entry before (null: none). */
  added?: boolean;
  previous?: HostEntry | null;
}

export interface YarnRecord {
  yarn: string[];
  excludeFile: string;
  host: string;
  added: boolean;
}

async function hdfsStatus(env: WorkloadEnv, rec: HdfsRecord): Promise<string | undefined> {
  return datanodeStatus((await mustRunWorkload(env, [...rec.hdfs, 'dfsadmin', '-report'])).stdout, rec.host);
}

const hdfs: WorkloadDriver<HdfsHook, HdfsRecord> = {
  role: 'hdfs-datanode',

  async drain(env, hook, save, previous) {
    let rec = previous;
    const host = hook.host ?? env.hostname;
    const text = await readText(hook.hostsFile);
    if (!rec) {
      rec =
        hook.mode === 'decommission'
          ? { hdfs: hook.hdfs, mode: hook.mode, hostsFile: hook.hostsFile, host, added: withHost(text, host).added }
          : {
              hdfs: hook.hdfs,
              mode: hook.mode,
              hostsFile: hook.hostsFile,
              host,
              previous: withMaintenance(text, host, hook.hostsFile).previous,
            };
      await save(rec);
    }
    const next = rec.mode === 'decommission' ? withHost(text, host).text : withMaintenance(text, host, rec.hostsFile).text;
    if (next !== text) await writeFileAtomic(rec.hostsFile, next, { durable: true });
    await mustRunWorkload(env, [...rec.hdfs, 'dfsadmin', '-refreshNodes']);
    const want = rec.mode === 'decommission' ? 'Decommissioned' : 'In maintenance';
    const r = rec;
    if (!(await pollUntil(env, async () => (await hdfsStatus(env, r)) === want, hook.waitTimeoutSeconds * 1000, 10_000)))
      throw new Error(`datanode ${host} is not "${want}" ${hook.waitTimeoutSeconds} s after the refresh`);
    return rec;
  },

  async undrain(env, hook, rec): Promise<RestoreResult> {
    const text = await readText(rec.hostsFile);
    const next =
      rec.mode === 'decommission'
        ? rec.added
          ? withoutHost(text, rec.host)
          : text
        : withEntryRestored(text, rec.host, rec.previous ?? null, rec.hostsFile);
    if (next !== text) await writeFileAtomic(rec.hostsFile, next, { durable: true });
    await mustRunWorkload(env, [...rec.hdfs, 'dfsadmin', '-refreshNodes']);
    const problems = await problemsAfterWaiting(env, () => hdfs.check(env, hook, rec), hook.waitTimeoutSeconds * 1000);
    return { restored: problems.length === 0 ? [rec.host] : [], problems };
  },

  async check(env, _hook, rec) {
    // A node decommissioned or in maintenance before the drain stays so; otherwise it serves again.
    const before = rec.mode === 'decommission' ? rec.added === false : (rec.previous?.adminState ?? 'NORMAL') !== 'NORMAL';
    if (before) return [];
    const status = await hdfsStatus(env, rec);
    return status === 'Normal' ? [] : [`datanode ${rec.host} is ${status ?? 'not known to the namenode'}, not Normal`];
  },
};

const NODE_MANAGER_REJOIN_MS = 300_000;

const yarn: WorkloadDriver<YarnHook, YarnRecord> = {
  role: 'yarn-nodemanager',

  async drain(env, hook, save, previous) {
    const host = hook.host ?? env.hostname;
    const text = await readText(hook.excludeFile);
    const rec = previous ?? { yarn: hook.yarn, excludeFile: hook.excludeFile, host, added: withHost(text, host).added };
    if (!previous) await save(rec);
    const next = withHost(text, host).text;
    if (next !== text) await writeFileAtomic(rec.excludeFile, next, { durable: true });
    // -client: the command itself waits for the graceful decommission (running containers finish).
    await mustRunWorkload(env, [...rec.yarn, 'rmadmin', '-refreshNodes', '-g', String(hook.decommissionTimeoutSeconds), '-client']);
    return rec;
  },

  async undrain(env, hook, rec): Promise<RestoreResult> {
    if (rec.added) {
      const text = await readText(rec.excludeFile);
      const next = withoutHost(text, rec.host);
      if (next !== text) await writeFileAtomic(rec.excludeFile, next, { durable: true });
    }
    await mustRunWorkload(env, [...rec.yarn, 'rmadmin', '-refreshNodes']);
    // A decommissioned node manager rejoins when it starts again (after the reboot).
    const problems = await problemsAfterWaiting(env, () => yarn.check(env, hook, rec), NODE_MANAGER_REJOIN_MS);
    return { restored: problems.length === 0 ? [rec.host] : [], problems };
  },

  async check(env, _hook, rec) {
    if (!rec.added) return [];
    const state = nodeManagerState((await mustRunWorkload(env, [...rec.yarn, 'node', '-list', '-all'])).stdout, rec.host);
    return state === 'RUNNING' ? [] : [`node manager ${rec.host} is ${state ?? 'not known to the resource manager'}, not RUNNING`];
  },
};

export const hadoopDrivers = { hdfs, yarn };
