// Which landed state of proto/ `buf breaking` compares the working tree with. There are no
// release tags yet, so the baseline is what the change under test started from:
//
// 1. YX_PROTO_BASELINE, when set: a commit CI knows better (the push's `before`, a tag).
// 2. On a branch (origin/main exists and is not HEAD's own history): the merge base with
//    main, so every commit of the branch is checked, not just the last one.
// 3. Otherwise (main itself, or a clone without origin/main): the parent of the last
//    commit that changed proto/. HEAD~1 would let a breaking commit pass as soon as any
//    other commit lands after it; the parent of the last proto/ change compares exactly
//    the latest contract change (plus any uncommitted edit) with the contract before it,
//    and a commit that leaves proto/ alone cannot make the check fail.
//
// When proto/ has no earlier state (the commit that created it), there is nothing to
// break. A shallow clone that lacks the baseline is refused with how to fix it, never
// passed silently.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Baseline {
  /** Full commit id to pass as `.git#ref=<sha>`, or undefined when there is none. */
  sha: string | undefined;
  why: string;
}

async function git(cwd: string, ...args: string[]): Promise<string | undefined> {
  try {
    return (await exec('git', args, { cwd })).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function protoBaseline(cwd: string, env: Record<string, string | undefined> = process.env): Promise<Baseline> {
  const override = env.YX_PROTO_BASELINE;
  if (override) {
    const sha = await git(cwd, 'rev-parse', '--verify', '--quiet', `${override}^{commit}`);
    if (!sha) throw new Error(`YX_PROTO_BASELINE=${override} is not a commit of this clone`);
    return { sha, why: `YX_PROTO_BASELINE (${override})` };
  }
  const head = await git(cwd, 'rev-parse', 'HEAD');
  if (!head) throw new Error('buf breaking needs the git history of proto/: not a git checkout');
  const main = await git(cwd, 'rev-parse', '--verify', '--quiet', 'origin/main^{commit}');
  if (main) {
    const base = await git(cwd, 'merge-base', 'HEAD', main);
    if (base && base !== head) return { sha: base, why: `merge base with origin/main (${base.slice(0, 12)})` };
  }
  const last = await git(cwd, 'log', '-1', '--format=%H', '--', 'proto/');
  if (!last) return { sha: undefined, why: 'proto/ has no committed history yet' };
  const parent = await git(cwd, 'rev-parse', '--verify', '--quiet', `${last}^`);
  if (!parent) {
    if ((await git(cwd, 'rev-parse', '--is-shallow-repository')) === 'true') {
      throw new Error(`buf breaking needs the commit before ${last.slice(0, 12)}: fetch more history (git fetch --unshallow)`);
    }
    return { sha: undefined, why: `proto/ begins at the root commit ${last.slice(0, 12)}` };
  }
  if (!(await git(cwd, 'ls-tree', '-d', '--name-only', parent, 'proto'))) {
    return { sha: undefined, why: `proto/ begins at ${last.slice(0, 12)}` };
  }
  return { sha: parent, why: `parent of the last change to proto/ (${last.slice(0, 12)})` };
}

/** The `buf breaking` arguments for the baseline, or undefined when there is none. */
export function breakingArgs(baseline: Baseline, opts: { input?: string; gitDir?: string } = {}): string[] | undefined {
  if (baseline.sha === undefined) return undefined;
  return ['breaking', opts.input ?? '.', '--against', `${opts.gitDir ?? '.git'}#ref=${baseline.sha}`];
}
