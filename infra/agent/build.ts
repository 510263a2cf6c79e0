// `npm run build:agent`: yx-agent for linux x86_64 and aarch64 as single executables, the
// agent's one TypeScript code base (services/host-agent/src/main.ts) compiled by Bun with
// the shipped profiles and knowledge rules embedded (build-info.ts finds them there).
//
// Bun comes from the npm registry only: the x86_64 baseline build (glibc 2.17, no AVX2),
// an exact devDependency, compiles both and is the x86_64 runtime; the aarch64 runtime is
// the same version's @oven/bun-linux-aarch64, fetched with `npm pack` and checked against
// the digest pinned here, since npm refuses to install an arm64 package on x86_64 (EBADPLATFORM).
//
// Reproducible: same commit, same Bun, same checkout path → same bytes (Bun writes the
// absolute directory of two CommonJS dependencies, pino and thread-stream, into the bundle
// as their __dirname: a clone elsewhere builds other bytes).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { capture, run } from '../dev/exec.ts';
import { cacheDir, repoRoot } from '../dev/paths.ts';

/** Where `npm run build:agent` writes the executables, SHA256SUMS and build.json (git-ignored). */
export const agentDistDir = path.join(repoRoot, 'dist', 'agent');

const agentDir = path.join(repoRoot, 'services', 'host-agent');
const X64_PACKAGE = '@oven/bun-linux-x64-baseline';
const AARCH64_PACKAGE = '@oven/bun-linux-aarch64';

/** npm's integrity of each @oven/bun-linux-aarch64 version the build accepts. */
const AARCH64_INTEGRITY: Record<string, string> = {
  '1.4.5': 'sha512-4BXmsSKnjOrlGWqZV4x/oWa7AVoR+B6lCXddMzOAXBIm3t50eslg9wb66gmtW1AamEQ1l1CDvmmruysEhqOWMg==',
};

export interface AgentTarget {
  arch: 'x64' | 'arm64';
  /** Bun's --target for it. */
  bunTarget: string;
  /** The executable's file name in the dist directory (also its name inside the bundle). */
  file: string;
}

export const AGENT_TARGETS: readonly AgentTarget[] = [
  { arch: 'x64', bunTarget: 'bun-linux-x64-baseline', file: 'yx-agent-linux-x64' },
  { arch: 'arm64', bunTarget: 'bun-linux-arm64', file: 'yx-agent-linux-arm64' },
];

/** The arguments of `bun build` for one target, run in services/host-agent. Pure. */
export function bunBuildArgs(target: AgentTarget, runtime: string, commit: string, outfile: string): string[] {
  return [
    'build',
    'src/main.ts',
    '--compile',
    `--target=${target.bunTarget}`,
    // The runtime from the npm package, never a download.
    `--compile-executable-path=${runtime}`,
    // Embedded beside the bundle: shippedDir() in build-info.ts reads them there.
    '--asset=profiles',
    '--asset=knowledge',
    `--define=YX_AGENT_BUILD_COMMIT=${JSON.stringify(commit)}`,
    // An agent on a host reads its configuration from its environment only, not from
    // whatever .env or bunfig.toml lies in the directory it was started in.
    '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig',
    `--outfile=${outfile}`,
  ];
}

/** The Bun version: the exact devDependency of the root package.json (one place to bump it). */
export async function bunVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const v = pkg.devDependencies[X64_PACKAGE];
  if (!v || !/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`package.json: devDependency ${X64_PACKAGE} must be an exact version, is ${v}`);
  return v;
}

function x64Runtime(): string {
  const bin = path.join(repoRoot, 'node_modules', X64_PACKAGE, 'bin', 'bun');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm ci (the devDependency ${X64_PACKAGE})`);
  return bin;
}

/** The aarch64 Bun runtime of this version, fetched once into .cache/ and checked. */
async function aarch64Runtime(version: string): Promise<string> {
  const dir = path.join(cacheDir, 'bun', `linux-aarch64-${version}`);
  const bin = path.join(dir, 'bun');
  if (existsSync(bin)) return bin;
  const integrity = AARCH64_INTEGRITY[version];
  if (!integrity)
    throw new Error(
      `no pinned integrity for ${AARCH64_PACKAGE}@${version}: add \`npm view ${AARCH64_PACKAGE}@${version} dist.integrity\` to infra/agent/build.ts`,
    );
  await mkdir(path.dirname(dir), { recursive: true });
  const work = await mkdtemp(`${dir}.tmp-`);
  try {
    const packed = await capture('npm', ['pack', '--silent', `${AARCH64_PACKAGE}@${version}`], { cwd: work });
    if (packed.code !== 0) throw new Error(`npm pack ${AARCH64_PACKAGE}@${version}: ${packed.stderr.trim()}`);
    const tarball = path.join(work, packed.stdout.trim().split('\n').at(-1) ?? '');
    const got = `sha512-${createHash('sha512')
      .update(await readFile(tarball))
      .digest('base64')}`;
    if (got !== integrity) throw new Error(`${AARCH64_PACKAGE}@${version}: integrity ${got}, pinned ${integrity}`);
    await run('tar', ['-xzf', tarball, '-C', work, '--strip-components=2', 'package/bin/bun']);
    await rm(tarball);
    await rename(work, dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return bin;
}

/** HEAD's commit, with `-dirty` when the agent's sources differ from it. */
async function sourceCommit(): Promise<string> {
  const head = await capture('git', ['rev-parse', 'HEAD'], { cwd: repoRoot });
  if (head.code !== 0) throw new Error(`git rev-parse HEAD: ${head.stderr.trim()} (the build names the commit it was built from)`);
  const status = await capture('git', ['status', '--porcelain', '--', 'services/host-agent', 'services/common', 'package-lock.json'], {
    cwd: repoRoot,
  });
  return `${head.stdout.trim()}${status.stdout.trim() ? '-dirty' : ''}`;
}

export interface BuiltExecutable {
  arch: AgentTarget['arch'];
  file: string;
  path: string;
  bytes: number;
  sha256: string;
}

export interface AgentBuild {
  version: string;
  commit: string;
  bun: string;
  executables: BuiltExecutable[];
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/**
 * Builds every target into `outDir` (each executable built in a scratch directory under its
 * final name, which Bun embeds, then moved in), with SHA256SUMS (`sha256sum -c` checks it)
 * and build.json (version, commit, Bun version). `commit` overrides HEAD's.
 */
export async function buildAgent(opts: { outDir?: string; commit?: string } = {}): Promise<AgentBuild> {
  const outDir = opts.outDir ?? agentDistDir;
  const bun = await bunVersion();
  const compiler = x64Runtime();
  const runtimes = { x64: compiler, arm64: await aarch64Runtime(bun) };
  const commit = opts.commit ?? (await sourceCommit());
  const { version } = JSON.parse(await readFile(path.join(agentDir, 'package.json'), 'utf8')) as { version: string };
  await mkdir(outDir, { recursive: true });
  const scratch = await mkdtemp(path.join(outDir, '.build-'));
  const executables: BuiltExecutable[] = [];
  try {
    for (const t of AGENT_TARGETS) {
      const built = await capture(compiler, bunBuildArgs(t, runtimes[t.arch], commit, path.join(scratch, t.file)), { cwd: agentDir });
      if (built.code !== 0) throw new Error(`bun build for ${t.arch} failed:\n${built.stdout}${built.stderr}`);
      const target = path.join(outDir, t.file);
      await rename(path.join(scratch, t.file), target);
      executables.push({ arch: t.arch, file: t.file, path: target, bytes: (await stat(target)).size, sha256: await sha256(target) });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await writeFile(path.join(outDir, 'SHA256SUMS'), executables.map((e) => `${e.sha256}  ${e.file}\n`).join(''));
  await writeFile(path.join(outDir, 'build.json'), `${JSON.stringify({ version, commit, bun }, null, 2)}\n`);
  return { version, commit, bun, executables };
}

/** What the last build wrote to `dir`: the tests run exactly those bytes. */
export async function readAgentBuild(
  dir = agentDistDir,
): Promise<Omit<AgentBuild, 'executables'> & { executables: Omit<BuiltExecutable, 'bytes'>[] }> {
  let meta: { version: string; commit: string; bun: string };
  let sums: string;
  try {
    meta = JSON.parse(await readFile(path.join(dir, 'build.json'), 'utf8'));
    sums = await readFile(path.join(dir, 'SHA256SUMS'), 'utf8');
  } catch (err) {
    throw new Error(
      `${dir}: no agent build (${(err as NodeJS.ErrnoException).code}); run \`npm run build:agent\` or the tests through \`npm test\``,
    );
  }
  const executables = sums
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [digest, file] = line.split(/\s+/) as [string, string];
      const t = AGENT_TARGETS.find((x) => x.file === file);
      if (!t) throw new Error(`${dir}/SHA256SUMS: unknown file ${file}`);
      return { arch: t.arch, file, path: path.join(dir, file), sha256: digest };
    });
  return { ...meta, executables };
}

async function main(): Promise<void> {
  const started = performance.now();
  const b = await buildAgent();
  for (const e of b.executables)
    process.stdout.write(`${e.sha256}  ${path.relative(repoRoot, e.path)}  ${(e.bytes / 2 ** 20).toFixed(1)} MiB\n`);
  process.stdout.write(
    `yx-agent ${b.version} (commit ${b.commit}), Bun ${b.bun}, in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

if (import.meta.main) {
  main().catch((err: Error) => {
    process.stderr.write(`build:agent: ${err.message}\n`);
    process.exit(1);
  });
}
