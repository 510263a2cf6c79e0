// `npm run package:agent`: the yixing-agent RPM (rpmbuild) and deb (dpkg-deb) for x86_64
// and aarch64, holding the executables `npm run build:agent` wrote, the systemd unit and
// the default agent.env (infra/agent/packaging/); what they hold and do is in package-files.ts.
//
//   npm run package:agent [-- --release N] [--compression xz|gzip]
//
// The release (YX_PACKAGE_RELEASE, default 1) numbers the build of a version, so a newer
// build of the same version upgrades an older one.
import { createHash } from 'node:crypto';
import { chmod, copyFile, lutimes, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { capture, type RunResult } from '../dev/exec.ts';
import { repoRoot } from '../dev/paths.ts';
import { ensureHostPrograms } from '../dev/toolchain.ts';
import { agentDistDir, buildAgent, readAgentBuild } from './build.ts';
import {
  type AgentArch,
  COMPRESSIONS,
  type Compression,
  debCompressionArgs,
  debConffiles,
  debControl,
  debFileName,
  debMaintainerScripts,
  PACKAGE_ARCH,
  PACKAGE_PATHS,
  type PackageMeta,
  releaseProblem,
  rpmFileName,
  rpmSpec,
  UNIT_NAME,
} from './package-files.ts';

/** Where `npm run package:agent` writes the packages and their SHA256SUMS (git-ignored). */
export const packageDistDir = path.join(repoRoot, 'dist', 'packages');

/** The unit and the default configuration, as files: `systemd-analyze verify` reads the same text. */
export const packagingDir = path.join(repoRoot, 'infra', 'agent', 'packaging');

export interface BuiltPackage {
  kind: 'rpm' | 'deb';
  arch: AgentArch;
  /** The agent inside: its version line's parts and its executable's digest. */
  version: string;
  commit: string;
  executableSha256: string;
  path: string;
  bytes: number;
  sha256: string;
  seconds: number;
}

export interface PackageOptions {
  release?: string;
  compression?: Compression;
  outDir?: string;
  /** The agent build to package (default: dist/agent, built first if there is none). */
  agentDir?: string;
  archs?: AgentArch[];
  /** Seconds since 1970 for every time in the packages (default: SOURCE_DATE_EPOCH, else HEAD's commit time). */
  sourceDateEpoch?: number;
}

function mustSucceed(what: string, r: RunResult): void {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stdout}${r.stderr}`);
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** The time every file and header of the packages gets: byte-stable packages. */
async function sourceDateEpoch(): Promise<string> {
  if (process.env.SOURCE_DATE_EPOCH) return process.env.SOURCE_DATE_EPOCH;
  const r = await capture('git', ['log', '-1', '--format=%ct'], { cwd: repoRoot });
  return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : '0';
}

async function buildRpm(meta: PackageMeta, executable: string, outDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const top = await mkdtemp(path.join(tmpdir(), 'yx-rpmbuild-'));
  try {
    const sources = path.join(top, 'SOURCES');
    await mkdir(sources, { recursive: true });
    await copyFile(executable, path.join(sources, 'yx-agent'));
    await copyFile(path.join(packagingDir, UNIT_NAME), path.join(sources, UNIT_NAME));
    await copyFile(path.join(packagingDir, 'agent.env'), path.join(sources, 'agent.env'));
    const spec = path.join(top, 'yixing-agent.spec');
    await writeFile(spec, rpmSpec(meta));
    const target = PACKAGE_ARCH[meta.arch].rpm;
    const args = ['-bb', '--target', `${target}-linux`, '--define', `_topdir ${top}`, '--define', `_sourcedir ${sources}`, spec];
    mustSucceed(`rpmbuild for ${target}`, await capture('rpmbuild', args, { env }));
    const out = path.join(outDir, rpmFileName(meta));
    await rename(path.join(top, 'RPMS', target, rpmFileName(meta)), out);
    return out;
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}

async function buildDeb(meta: PackageMeta, executable: string, outDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const stage = await mkdtemp(path.join(tmpdir(), 'yx-debbuild-'));
  try {
    // The package's ./ becomes the host's / on unpacking: never mkdtemp's 0700.
    await chmod(stage, 0o755);
    const put = async (inPackage: string, from: string, mode: number): Promise<number> => {
      const to = path.join(stage, inPackage);
      await mkdir(path.dirname(to), { recursive: true, mode: 0o755 });
      await copyFile(from, to);
      await chmod(to, mode);
      return (await stat(to)).size;
    };
    const p = PACKAGE_PATHS;
    let bytes = 0;
    bytes += await put(p.executable, executable, 0o755);
    bytes += await put(p.debUnit, path.join(packagingDir, UNIT_NAME), 0o644);
    bytes += await put(p.config, path.join(packagingDir, 'agent.env'), 0o600);
    await mkdir(path.join(stage, p.stateDir), { recursive: true });
    // mkdir's mode is masked by the umask: chmod sets exactly the one the host gets.
    await chmod(path.join(stage, p.stateDir), 0o700);
    const control = path.join(stage, 'DEBIAN');
    await mkdir(control, { recursive: true });
    await writeFile(path.join(control, 'control'), debControl(meta, Math.ceil(bytes / 1024)));
    await writeFile(path.join(control, 'conffiles'), debConffiles());
    for (const [name, text] of Object.entries(debMaintainerScripts())) await writeFile(path.join(control, name), text, { mode: 0o755 });
    // dpkg-deb takes the files' times as they are: the commit's, as the RPM's are.
    const epoch = Number(env.SOURCE_DATE_EPOCH);
    for (const e of await readdir(stage, { recursive: true })) await lutimes(path.join(stage, e), epoch, epoch);
    await lutimes(stage, epoch, epoch);
    const out = path.join(outDir, debFileName(meta));
    const args = ['--root-owner-group', ...debCompressionArgs(meta.compression), '--build', stage, out];
    mustSucceed(`dpkg-deb for ${meta.arch}`, await capture('dpkg-deb', args, { env }));
    return out;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * Builds the RPM and the deb of each architecture into `outDir`, with SHA256SUMS. Bad input
 * (a release that does not order, an unknown compression) is refused before anything is built.
 */
export async function buildPackages(opts: PackageOptions = {}): Promise<BuiltPackage[]> {
  const release = opts.release ?? '1';
  const compression = opts.compression ?? 'xz';
  const problems = [
    releaseProblem(release),
    COMPRESSIONS.includes(compression) ? undefined : `compression ${JSON.stringify(compression)} must be one of ${COMPRESSIONS.join(', ')}`,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const outDir = opts.outDir ?? packageDistDir;
  const agentDir = opts.agentDir ?? agentDistDir;
  const agent = await readAgentBuild(agentDir).catch(async () => {
    if (opts.agentDir) throw new Error(`${agentDir}: no agent build`);
    await buildAgent();
    return readAgentBuild(agentDir);
  });
  const env = {
    ...process.env,
    SOURCE_DATE_EPOCH: opts.sourceDateEpoch !== undefined ? String(opts.sourceDateEpoch) : await sourceDateEpoch(),
  };
  await mkdir(outDir, { recursive: true });
  const built: BuiltPackage[] = [];
  // The executables are copied first and the copies checked: a build:agent running meanwhile
  // (another test run in the same checkout) cannot slip other bytes in.
  const copies = await mkdtemp(path.join(tmpdir(), 'yx-package-exe-'));
  try {
    for (const arch of opts.archs ?? (Object.keys(PACKAGE_ARCH) as AgentArch[])) {
      const exe = agent.executables.find((e) => e.arch === arch);
      if (!exe) throw new Error(`${agentDir}: the agent build has no ${arch} executable`);
      const copy = path.join(copies, exe.file);
      await copyFile(exe.path, copy);
      if ((await sha256(copy)) !== exe.sha256) throw new Error(`${exe.path}: its bytes are not the ones SHA256SUMS names; build it again`);
      const meta: PackageMeta = { version: agent.version, release, commit: agent.commit, arch, compression };
      // Side by side: each compressor is single-threaded, and the machine has more cores.
      const pair = await Promise.all(
        (
          [
            ['rpm', buildRpm],
            ['deb', buildDeb],
          ] as const
        ).map(async ([kind, build]): Promise<BuiltPackage> => {
          const started = performance.now();
          const file = await build(meta, copy, outDir, env);
          const seconds = (performance.now() - started) / 1000;
          const agentFacts = { version: agent.version, commit: agent.commit, executableSha256: exe.sha256 };
          return { kind, arch, ...agentFacts, path: file, bytes: (await stat(file)).size, sha256: await sha256(file), seconds };
        }),
      );
      built.push(...pair);
    }
  } finally {
    await rm(copies, { recursive: true, force: true });
  }
  await writeFile(path.join(outDir, 'SHA256SUMS'), built.map((b) => `${b.sha256}  ${path.basename(b.path)}\n`).join(''));
  return built;
}

async function main(): Promise<void> {
  await ensureHostPrograms('packages');
  const { values } = parseArgs({
    options: { release: { type: 'string' }, compression: { type: 'string' } },
  });
  const packages = await buildPackages({
    release: values.release ?? process.env.YX_PACKAGE_RELEASE ?? '1',
    compression: (values.compression ?? 'xz') as Compression,
  });
  for (const p of packages)
    process.stdout.write(
      `${p.sha256}  ${path.relative(repoRoot, p.path)}  ${(p.bytes / 2 ** 20).toFixed(1)} MiB in ${p.seconds.toFixed(1)} s\n`,
    );
}

if (import.meta.main) {
  main().catch((err: Error) => {
    process.stderr.write(`package:agent: ${err.message}\n`);
    process.exit(1);
  });
}
