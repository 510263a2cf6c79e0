// `yx-agent migrate|assess|rollback`: the standalone one-click commands.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FileBackupStore } from '../backup/backup-store.ts';
import { MigrationDriver } from '../drivers/migration.driver.ts';
import { type KnowledgeRule, loadKnowledgeRules } from '../knowledge/rule.ts';
import { mustRun } from '../os/command.ts';
import { HostRoot } from '../os/host-root.ts';
import { AptPackageManager } from '../pm/apt.ts';
import { DnfPackageManager } from '../pm/dnf.ts';
import type { PackageManager } from '../pm/package-manager.ts';
import { loadAgentProfiles, type Profile } from '../profiles/profile.ts';
import { isRollbackRequirement } from '../snapshot/strategy-choice.ts';
import { loadWorkloadHooks, type WorkloadHooks } from '../workloads/workload-config.ts';
import { chooseProfile, type ProfileChoice, type RecordedRun } from './run-profile.ts';
import { EXIT, StandaloneRun } from './standalone-run.ts';

export const STANDALONE_USAGE = `yx-agent — migrate this host (or a root directory) in place, without a control plane

  yx-agent migrate --profile NAME [--root DIR] [--dry-run]   precheck, backup, upgrade, post-check (rollback on failure)
  yx-agent assess  --profile NAME [--root DIR]               the assessment only; changes nothing
  yx-agent rollback [--root DIR]                             restore the last migration's backup and verify it
  yx-agent version                                           the agent's version and the commit it was built from

Options:
  --root DIR             the root to migrate (default /); a directory is handled as a chroot
  --state-dir DIR        where runs and backups are kept (default /var/lib/yixing)
  --profiles-dir DIR     more profiles (default: the ones shipped with the agent)
  --knowledge-dir DIR    more knowledge rules (a rule with a shipped rule's id replaces it)
  --workloads FILE       workload hooks (YAML): what drain and undrain do per role (containers,
                         libvirt, kubernetes-node, hdfs-datanode, yarn-nodemanager)
  --rollback STRATEGY    the rollback the migration requires: snapshot, packages or any
                         (default: the profile's, else any); a host that cannot meet it is inhibited
  --mirror FROM=TO       use a mirror for repository addresses starting with FROM (repeatable)
  --trusted-mirrors      the mirrors are unsigned (apt [trusted=yes], dnf gpgcheck off)
  --verbose              print every log line
Exit codes: 0 done (or rebooting to finish a rollback), 2 bad usage, 3 inhibited (nothing changed), 4 failed (rolled back or nothing changed), 5 rollback failed.
`;

export async function runStandalone(argv: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  let args: ReturnType<typeof parse>;
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      allowPositionals: true,
      options: {
        profile: { type: 'string' },
        root: { type: 'string', default: '/' },
        'dry-run': { type: 'boolean', default: false },
        'state-dir': { type: 'string', default: '/var/lib/yixing' },
        'profiles-dir': { type: 'string' },
        'knowledge-dir': { type: 'string' },
        workloads: { type: 'string' },
        rollback: { type: 'string' },
        mirror: { type: 'string', multiple: true, default: [] },
        'trusted-mirrors': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  try {
    args = parse(argv);
  } catch (e) {
    err.write(`yx-agent: ${(e as Error).message}\n${STANDALONE_USAGE}`);
    return 2;
  }
  const [command] = args.positionals;
  const v = args.values;
  if (v.help) {
    out.write(STANDALONE_USAGE);
    return 0;
  }
  const usage = (msg: string): number => {
    err.write(`yx-agent: ${msg}\n(see yx-agent --help)\n`);
    return 2;
  };
  const rollbackRequired = v.rollback;
  if (rollbackRequired !== undefined && !isRollbackRequirement(rollbackRequired))
    return usage(`--rollback ${rollbackRequired}: expected snapshot, packages or any`);
  const mirrors: Record<string, string> = {};
  for (const m of v.mirror) {
    const [from, to] = m.split('=');
    if (!from || !to || !/^(https?|file):\/\//.test(from) || !/^(https?|file):\/\//.test(to))
      return usage(`--mirror ${m}: expected FROM=TO with two URLs`);
    mirrors[from.replace(/\/+$/, '')] = to.replace(/\/+$/, '');
  }
  let profiles: Map<string, Profile>;
  let knowledgeRules: KnowledgeRule[];
  let workloads: WorkloadHooks;
  try {
    profiles = await loadAgentProfiles(v['profiles-dir'], mirrors);
    knowledgeRules = await loadKnowledgeRules(v['knowledge-dir']);
    workloads = await loadWorkloadHooks(v.workloads);
  } catch (e) {
    err.write(`yx-agent: ${(e as Error).message}\n`);
    return 2;
  }
  const root = new HostRoot(v.root);
  if (!root.exists('/')) return usage(`--root ${v.root} does not exist`);
  const rootKey = createHash('sha256').update(root.path).digest('hex').slice(0, 12);
  const stateDir = path.resolve(v['state-dir']);
  const stateFile = path.join(stateDir, 'runs', `root-${rootKey}.json`);
  const logFile = path.join(stateDir, 'runs', `root-${rootKey}.log`);

  let recorded: RecordedRun | undefined;
  try {
    recorded = JSON.parse(await readFile(stateFile, 'utf8')) as RecordedRun;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return usage(`${stateFile} is not readable run state: ${(e as Error).message}`);
  }
  let choice: ProfileChoice;
  try {
    choice = chooseProfile(command ?? '', v.profile, recorded, profiles, { root: root.path, stateFile });
  } catch (e) {
    err.write(`yx-agent: ${(e as Error).message}\n`);
    return 2;
  }
  if (!choice.ok) return usage(choice.message);
  const profile = choice.profile;
  // The driver looks profiles up by name: the run's own record wins.
  if (choice.fromRecord) profiles.set(profile.name, profile);
  const hostname = (await import('node:os')).hostname();
  const packageManager = (p: Profile): PackageManager =>
    p.driver === 'apt'
      ? new AptPackageManager(root, p, { trusted: v['trusted-mirrors'] })
      : new DnfPackageManager(root, p, { trusted: v['trusted-mirrors'] });
  const driver = new MigrationDriver({
    name: profile.driver,
    root,
    hostId: hostname,
    profiles,
    store: new FileBackupStore(path.join(stateDir, 'backups')),
    packageManager,
    knowledgeRules,
    workloads: { site: workloads },
  });
  const run = new StandaloneRun({
    driver,
    hostId: hostname,
    profile: profile.name,
    profileDefinition: profile,
    root: root.path,
    ...(rollbackRequired ? { rollbackRequired } : {}),
    stateFile,
    logFile,
    reboot: root.isHost ? async () => void (await mustRun(['systemctl', 'reboot'])) : null,
    out,
    verbose: v.verbose,
  });
  try {
    switch (command) {
      case 'migrate':
        return EXIT[await run.migrate({ dryRun: v['dry-run'], assessOnly: false })];
      case 'assess':
        return EXIT[await run.migrate({ dryRun: true, assessOnly: true })];
      case 'rollback':
        return EXIT[await run.rollback()];
      default:
        return usage(`unknown command ${command ?? '(none)'}`);
    }
  } catch (e) {
    err.write(`yx-agent: ${(e as Error).message}\n`);
    return 1;
  }
}
