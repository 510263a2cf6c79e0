// The assessment (precheck): what stands in the way of this migration on this root.
// Each finding has a stable id, a severity, whether it inhibits the migration, and a hint
// to fix it. It reads; it changes nothing (the package manager's preview runs against
// throwaway lists, the lock check does not write caches).
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import type { StepContext } from '../drivers/driver.ts';
import { type DataPath, evaluateKnowledge } from '../knowledge/knowledge.ts';
import type { KnowledgeRule } from '../knowledge/rule.ts';
import { runCommand } from '../os/command.ts';
import type { HostRoot } from '../os/host-root.ts';
import type { PackageManager, UpgradePreview } from '../pm/package-manager.ts';
import type { Profile } from '../profiles/profile.ts';
import { detectRoles } from '../workloads/roles.ts';
import type { WorkloadHooks } from '../workloads/workload-config.ts';
import { applicableHooks } from '../workloads/workload-steps.ts';
import type { Finding } from './finding.ts';
import { packageFindings } from './package-findings.ts';
import { assessRollback, type RollbackAssessment } from './rollback-strategy.ts';

export type { Finding, Severity } from './finding.ts';

export interface AssessmentReport {
  profile: string;
  root: string;
  at: string;
  source: { id: string; versionId: string; arch: string };
  target: { id: string; version: string };
  findings: Finding[];
  inhibitors: number;
  preview: UpgradePreview | null;
  runningServices: string[];
  packages: number;
  /** How this host would be rolled back. */
  rollback: RollbackAssessment;
  /** Data the knowledge rules name, backed up with the configuration (those with backup: true). */
  dataPaths: DataPath[];
  /** What the backup does not hold, so a rollback does not put back. */
  notBackedUp: string[];
  /** Services enabled in the root, to compare after the migration. */
  enabledServices: string[];
  /** The workloads the host runs (workloads/roles.ts), as HostFacts.roles names them. */
  roles: string[];
  summary: string;
}

const MiB = 1024 * 1024;

const dpkgToUname: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', i386: 'i686', ppc64el: 'ppc64le', s390x: 's390x' };

async function rootArch(root: HostRoot, pm: PackageManager): Promise<string> {
  if (pm.name === 'apt') {
    const r = await runCommand(['dpkg', `--admindir=${root.at('var/lib/dpkg')}`, '--print-architecture']);
    const a = r.stdout.trim();
    return dpkgToUname[a] ?? a;
  }
  return (await runCommand(['uname', '-m'])).stdout.trim();
}

/** Running services, where a service manager runs (not in a chroot). */
export async function runningServices(root: HostRoot): Promise<string[] | null> {
  if (!root.isHost) return null;
  const r = await runCommand(['systemctl', 'list-units', '--type=service', '--state=running', '--no-legend', '--plain']);
  if (r.code !== 0) return null;
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((u) => u.endsWith('.service'))
    .map((u) => u.replace(/\.service$/, ''))
    .sort();
}

/** The path whose mount is measured: the deepest existing ancestor of `p` in the root. */
function existingAncestor(root: HostRoot, p: string): string {
  let cur = p;
  while (cur !== '/' && !root.exists(cur)) cur = path.dirname(cur);
  return cur;
}

export async function assess(
  root: HostRoot,
  profile: Profile,
  pm: PackageManager,
  ctx: StepContext,
  /** The knowledge rules to evaluate; absent: the shipped ones. */
  rules?: KnowledgeRule[],
  /** The site's workload hooks, to name the detected roles no hook drains. */
  siteWorkloads?: WorkloadHooks,
): Promise<AssessmentReport> {
  const findings: Finding[] = [];
  const add = (f: Finding): void => {
    findings.push(f);
    ctx.log(`${f.inhibitor ? 'INHIBITOR' : f.severity.toUpperCase()} ${f.id}: ${f.title}`, f.inhibitor ? 'stderr' : 'stdout');
  };

  // 1. The system is the one the profile migrates from.
  const os = await root.osRelease().catch(() => ({ id: '', versionId: '', prettyName: '', fields: {} }));
  const arch = await rootArch(root, pm);
  if (os.id !== profile.source.id || !profile.source.versions.some((v) => os.versionId === v || os.versionId.startsWith(`${v}.`))) {
    add({
      id: 'os-mismatch',
      severity: 'high',
      inhibitor: true,
      title: `the system is ${os.id || 'unknown'} ${os.versionId}, the profile migrates ${profile.source.id} ${profile.source.versions.join('/')}`,
      detail: `os-release ID=${os.id} VERSION_ID=${os.versionId}`,
      remediation: 'choose the profile for this system, or migrate it to a supported source release first',
    });
  }
  if (!profile.arch.includes(arch)) {
    add({
      id: 'arch-unsupported',
      severity: 'high',
      inhibitor: true,
      title: `architecture ${arch} is not supported by the profile (${profile.arch.join(', ')})`,
      detail: '',
      remediation: 'use a profile for this architecture',
    });
  }
  ctx.progress(10, 'system identified');

  // 2. The package manager is free and consistent.
  const lock = await pm.lockState();
  if (lock.locked) {
    add({
      id: 'package-manager-locked',
      severity: 'high',
      inhibitor: true,
      title: 'another process holds the package manager lock',
      detail: lock.detail,
      remediation: 'wait for the running package operation to finish (or stop it), then assess again',
    });
  }
  if (lock.interrupted) {
    add({
      id: 'package-transaction-interrupted',
      severity: 'high',
      inhibitor: true,
      title: 'a previous package transaction was interrupted',
      detail: lock.detail,
      remediation:
        pm.name === 'apt'
          ? 'run `dpkg --configure -a` and `apt-get -f install`'
          : 'run `dnf history` and complete or undo the last transaction',
    });
  }

  // 3. Held packages stop a full upgrade.
  const installed = await pm.installed();
  const held = installed.filter((p) => p.held).map((p) => p.name);
  if (held.length > 0) {
    add({
      id: 'held-packages',
      severity: 'high',
      inhibitor: true,
      title: `${held.length} held or version-locked packages: ${held.slice(0, 10).join(', ')}`,
      detail: held.join(' '),
      remediation:
        pm.name === 'apt'
          ? `release them: apt-mark unhold ${held.join(' ')}`
          : `remove them from the versionlock list: dnf versionlock delete ${held.join(' ')}`,
    });
  }

  // 4. Repositories the profile does not know break transactions.
  const known = [
    ...(profile.apt?.sourceRepositories ?? []).flatMap((r) => [r.uri, ...(r.aliases ?? [])]),
    ...(profile.dnf?.sourceRepositories ?? []).flatMap((r) => [r.baseurl, ...(r.aliases ?? [])]),
  ].map((u) => u.replace(/\/+$/, ''));
  const foreign = (await pm.repositories()).filter((r) => r.enabled && !known.some((k) => r.uri.replace(/\/+$/, '') === k));
  if (foreign.length > 0) {
    add({
      id: 'foreign-repositories',
      severity: 'high',
      inhibitor: true,
      title: `${foreign.length} repositories the profile does not know: ${foreign.map((r) => r.uri).join(', ')}`,
      detail: foreign.map((r) => `${r.file}: ${r.uri}`).join('\n'),
      remediation: 'disable them (or add their target-release equivalents to the profile) before migrating',
    });
  }
  ctx.progress(30, 'package manager checked');

  // 5. The target repositories answer; what the upgrade would do.
  let preview: UpgradePreview | null = null;
  try {
    preview = await pm.preview(ctx);
  } catch (err) {
    preview = null;
    add({
      id: 'target-preview-failed',
      severity: 'high',
      inhibitor: true,
      title: 'the upgrade could not be computed',
      detail: (err as Error).message,
      remediation: 'check the target repositories and the package database',
    });
  }
  if (preview && !preview.reachable) {
    add({
      id: 'target-repositories-unreachable',
      severity: 'high',
      inhibitor: true,
      title: 'the target repositories do not answer',
      detail: preview.error,
      remediation: 'check the network path or the mirror configured for the target release',
    });
  } else if (preview?.error) {
    add({
      id: 'upgrade-unresolvable',
      severity: 'high',
      inhibitor: true,
      title: 'the package manager cannot resolve the upgrade',
      detail: preview.error,
      remediation: 'resolve the conflicting or broken packages first',
    });
  }
  if (preview) for (const f of packageFindings(preview)) add(f);
  ctx.progress(70, 'upgrade computed');

  // 6. Free space where it is needed, measured on the filesystem that holds each path.
  const needs = new Map<string, number>(Object.entries(profile.space).map(([p, mib]) => [p, mib * MiB]));
  if (preview) {
    needs.set(pm.cacheDir, Math.max(needs.get(pm.cacheDir) ?? 0, preview.downloadBytes));
    needs.set('/', Math.max(needs.get('/') ?? 0, preview.installBytes));
  }
  const byDevice = new Map<string, { free: number; need: number; paths: string[] }>();
  for (const [p, need] of needs) {
    const at = existingAncestor(root, p);
    const fs = await statfs(root.at(at));
    const key = `${fs.type}:${fs.blocks}:${fs.bfree}`;
    const entry = byDevice.get(key) ?? { free: fs.bavail * fs.bsize, need: 0, paths: [] };
    entry.need += need;
    entry.paths.push(p);
    byDevice.set(key, entry);
  }
  for (const { free, need, paths } of byDevice.values()) {
    if (free < need) {
      add({
        id: `disk-space:${paths.join(',')}`,
        severity: 'high',
        inhibitor: true,
        title: `not enough free space for ${paths.join(', ')}: ${(free / MiB).toFixed(0)} MiB free, ${(need / MiB).toFixed(0)} MiB needed`,
        detail: `the filesystem holding ${paths.join(', ')} in ${root.path}`,
        remediation: 'free space on that filesystem or grow it, then assess again',
      });
    }
  }

  // 7. Services to compare after the migration.
  const running = await runningServices(root);
  if (running === null) {
    add({
      id: 'services-not-assessed',
      severity: 'info',
      inhibitor: false,
      title: 'no service manager runs in this root; services are not snapshotted',
      detail: root.path,
      remediation: '',
    });
  }
  // 8. What the knowledge rules know about this host's software.
  const knowledge = await evaluateKnowledge({ root, profile, installed, preview, running, ...(rules ? { rules } : {}) }, ctx);
  for (const f of knowledge.findings) add(f);

  // 9. Workloads the upgrade would run over: a detected role without a hook is named.
  const roles = await detectRoles(root, { run: runCommand });
  const hooked = applicableHooks(profile.workloads, siteWorkloads, roles);
  for (const role of roles.filter((r) => !hooked[r])) {
    add({
      id: `workload-without-hook:${role}`,
      severity: 'medium',
      inhibitor: false,
      title: `the host is a ${role} host and no workload hook drains it; its workloads run through the upgrade`,
      detail: `roles detected: ${roles.join(', ')}`,
      remediation: `declare a ${role} hook in the profile's workloads section or the site's workloads file (--workloads, YX_AGENT_WORKLOADS)`,
    });
  }

  // 10. How it can be rolled back.
  const rollback = await assessRollback(root, profile, ctx);
  for (const f of rollback.findings) add(f);
  ctx.progress(95, 'assessment done');

  const inhibitors = findings.filter((f) => f.inhibitor).length;
  return {
    profile: profile.name,
    root: root.path,
    at: new Date().toISOString(),
    source: { id: os.id, versionId: os.versionId, arch },
    target: { id: profile.target.id, version: profile.target.version },
    findings,
    inhibitors,
    preview,
    runningServices: running ?? [],
    packages: installed.length,
    rollback,
    dataPaths: knowledge.dataPaths,
    notBackedUp: knowledge.notBackedUp,
    enabledServices: knowledge.enabledServices,
    roles,
    summary:
      inhibitors > 0
        ? `${inhibitors} inhibitor(s): ${findings
            .filter((f) => f.inhibitor)
            .map((f) => f.id)
            .join(', ')}; nothing was changed`
        : `ready: ${preview?.upgrades ?? 0} upgrades, ${preview?.installs ?? 0} new packages, ${((preview?.downloadBytes ?? 0) / MiB).toFixed(0)} MiB to download; ${findings.length} finding(s), none blocking`,
  };
}
