// Rollback by strategy (not a test): the same Debian 11 root (the one with services when
// the set-up has built it, else minbase), three copies on one btrfs file system on a loop
// device, each migrated to Debian 12 by `yx-agent migrate` and rolled back by
// `yx-agent rollback` with one strategy: snapshot (the root a subvolume), copy (the root a
// plain directory: `cp -a --reflink=auto`) and packages. Reports each migration's and
// rollback's wall time, the time the snapshot or copy took inside the upgrade, and the
// rollback ÷ migration ratio. Every rollback is checked exact (dpkg set and /etc).
//
//   npm run bench:rollback [-- --rounds 1 --root minbase|services]
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mustRun, treeDigest } from '@yixing/host-agent/internal';
import { ensureDebianMirror, ensureDebianRoot, ensureDebianServicesRoot } from '../../infra/dev/os-roots.ts';
import { btrfsRootFrom } from '../fixtures/btrfs-volume.ts';
import { dpkgSet, yxAgent } from '../fixtures/os-root.ts';
import { serveDirectory } from '../fixtures/static-server.ts';
import { writeBenchResult } from './results.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1' }, root: { type: 'string', default: 'services' } } });
const ROUNDS = Number(values.rounds);
const STRATEGIES = ['snapshot', 'copy', 'packages'] as const;
type Strategy = (typeof STRATEGIES)[number];

interface Row {
  migrate: number;
  rollback: number;
  /** Inside the upgrade step: the snapshot or copy taken before apt ran. */
  snapshot: number;
  exact: boolean;
  packages: number;
}

async function timed(args: string[]): Promise<{ secs: number; code: number; out: string }> {
  const t = performance.now();
  const r = await yxAgent(args);
  return { secs: (performance.now() - t) / 1000, code: r.code, out: r.stdout + r.stderr };
}

async function snapshotSeconds(stateDir: string): Promise<number> {
  const dir = path.join(stateDir, 'runs');
  const log = await readFile(path.join(dir, (await readdir(dir)).find((f) => f.endsWith('.log')) as string), 'utf8');
  return Number(/rollback strategy: snapshot .* taken in ([\d.]+) s/.exec(log)?.[1] ?? 0);
}

/** One strategy on one root: its migration and rollback, timed, and whether the rollback is exact. */
async function measure(strategy: Strategy, root: string, stateDir: string, mirror: string): Promise<Row> {
  const common = ['--profile', 'debian-11-to-12', '--root', root, '--state-dir', stateDir, '--mirror', `http://deb.debian.org=${mirror}`];
  const packages = await dpkgSet(root);
  const etc = await treeDigest(path.join(root, 'etc'));
  const m = await timed(['migrate', '--rollback', strategy === 'packages' ? 'packages' : 'snapshot', ...common, '--trusted-mirrors']);
  if (m.code !== 0) throw new Error(`${strategy}: yx-agent migrate exited with ${m.code}: ${m.out}`);
  const r = await timed(['rollback', ...common, '--trusted-mirrors']);
  if (r.code !== 0) process.stderr.write(`${strategy}: yx-agent rollback exited with ${r.code}: ${r.out.slice(-2000)}\n`);
  const exact =
    r.code === 0 && JSON.stringify(await dpkgSet(root)) === JSON.stringify(packages) && (await treeDigest(path.join(root, 'etc'))) === etc;
  return { migrate: m.secs, rollback: r.secs, snapshot: await snapshotSeconds(stateDir), exact, packages: packages.length };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const round2 = (n: number): number => Number(n.toFixed(2));

async function main(): Promise<void> {
  const kind = values.root === 'minbase' ? 'minbase' : 'services';
  const tar = kind === 'services' ? await ensureDebianServicesRoot() : await ensureDebianRoot();
  const mirror = await serveDirectory(await ensureDebianMirror());
  const rows: Record<Strategy, Row[]> = { snapshot: [], copy: [], packages: [] };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      // One file system for the three: the snapshot root is the subvolume the fixture
      // makes; the copy and packages roots are plain directories beside it.
      const fs = await btrfsRootFrom(tar, 16);
      try {
        const roots: Record<Strategy, string> = {
          snapshot: fs.root,
          copy: path.join(fs.mount, 'dir-copy'),
          packages: path.join(fs.mount, 'dir-packages'),
        };
        for (const s of ['copy', 'packages'] as const) {
          await mkdir(roots[s]);
          await mustRun(['tar', '--numeric-owner', '-xpf', tar, '-C', roots[s]]);
        }
        for (const s of STRATEGIES) {
          const row = await measure(s, roots[s], path.join(fs.dir, `state-${s}`), mirror.url);
          rows[s].push(row);
          process.stderr.write(
            `round ${i + 1} ${s}: migrate ${row.migrate.toFixed(1)} s (snapshot ${row.snapshot.toFixed(1)} s), rollback ${row.rollback.toFixed(1)} s, exact ${row.exact}\n`,
          );
        }
      } finally {
        await fs.remove();
      }
    }
  } finally {
    await mirror.close();
  }
  const figures = {
    rounds: ROUNDS,
    root: kind,
    packages: rows.snapshot[0]?.packages ?? 0,
    strategies: Object.fromEntries(
      STRATEGIES.map((s) => {
        const migrate = median(rows[s].map((r) => r.migrate));
        const rollback = median(rows[s].map((r) => r.rollback));
        return [
          s,
          {
            migrateSeconds: round2(migrate),
            snapshotSeconds: round2(median(rows[s].map((r) => r.snapshot))),
            rollbackSeconds: round2(rollback),
            rollbackOverMigrate: Number((rollback / migrate).toFixed(3)),
            exact: rows[s].every((r) => r.exact),
          },
        ];
      }),
    ),
  };
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  await writeBenchResult('rollback', figures);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exit(1);
});
