// Virtualisation hosts (libvirt, through virsh): drain records the running guests and
// either live-migrates them to a named peer or shuts them down (waiting until they are
// off); undrain migrates them back or starts them, and checks they run here again.
import type { LibvirtHook } from './workload-config.ts';
import { mustRunWorkload, pollUntil, type RestoreResult, type WorkloadDriver, type WorkloadEnv } from './workload-driver.ts';

export interface LibvirtRecord {
  virsh: string[];
  connect: string;
  mode: 'migrate' | 'shutdown';
  peer?: string;
  returnUri?: string;
  /** The guests that ran before the drain. */
  domains: string[];
}

/** `virsh list --name` output: one guest a line. Pure. */
export function parseDomainNames(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** `virsh domstate` output: the state's words ("running", "shut off"); "" when the guest is unknown. Pure. */
export function parseDomState(code: number, stdout: string): string {
  return code === 0 ? (stdout.split('\n')[0] ?? '').trim() : '';
}

async function domstate(env: WorkloadEnv, virsh: string[], uri: string, domain: string): Promise<string> {
  const r = await env.port.run([...virsh, '-c', uri, 'domstate', domain], { signal: env.signal });
  return parseDomState(r.code, r.stdout);
}

export const libvirtDriver: WorkloadDriver<LibvirtHook, LibvirtRecord> = {
  role: 'libvirt',

  async drain(env, hook, save, previous) {
    let rec = previous;
    if (!rec) {
      const list = await mustRunWorkload(env, [...hook.virsh, '-c', hook.connect, 'list', '--name', '--state-running']);
      rec = {
        virsh: hook.virsh,
        connect: hook.connect,
        mode: hook.mode,
        ...(hook.peer ? { peer: hook.peer } : {}),
        ...(hook.returnUri ? { returnUri: hook.returnUri } : {}),
        domains: parseDomainNames(list.stdout),
      };
      await save(rec);
    }
    const r = rec;
    env.log(
      `libvirt: ${r.mode === 'migrate' ? `migrating to ${r.peer}` : 'shutting down'}: ${r.domains.join(', ') || '(no guests)'}`,
      'agent',
    );
    for (const d of r.domains) {
      // A guest already moved or off (a repeated drain) is left as it is.
      if ((await domstate(env, r.virsh, r.connect, d)) !== 'running') continue;
      if (r.mode === 'migrate') {
        await mustRunWorkload(env, [
          ...r.virsh,
          '-c',
          r.connect,
          'migrate',
          '--live',
          '--persistent',
          '--undefinesource',
          d,
          r.peer as string,
        ]);
      } else {
        await mustRunWorkload(env, [...r.virsh, '-c', r.connect, 'shutdown', d]);
        const off = await pollUntil(
          env,
          async () => (await domstate(env, r.virsh, r.connect, d)) === 'shut off',
          hook.shutdownTimeoutSeconds * 1000,
        );
        if (!off) throw new Error(`guest ${d} is not off ${hook.shutdownTimeoutSeconds} s after its shutdown`);
      }
    }
    return r;
  },

  async undrain(env, _hook, rec): Promise<RestoreResult> {
    const problems: string[] = [];
    const restored: string[] = [];
    for (const d of rec.domains) {
      if ((await domstate(env, rec.virsh, rec.connect, d)) !== 'running') {
        const argv =
          rec.mode === 'migrate'
            ? [...rec.virsh, '-c', rec.peer as string, 'migrate', '--live', '--persistent', '--undefinesource', d, rec.returnUri as string]
            : [...rec.virsh, '-c', rec.connect, 'start', d];
        const r = await env.port.run(argv, { signal: env.signal });
        if (r.code !== 0) {
          problems.push(`guest ${d} did not come back: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
          continue;
        }
      }
      const state = await domstate(env, rec.virsh, rec.connect, d);
      if (state === 'running') restored.push(d);
      else problems.push(`guest ${d} is ${state || 'unknown here'} after undrain`);
    }
    return { restored, problems };
  },

  async check(env, _hook, rec) {
    const problems: string[] = [];
    for (const d of rec.domains) {
      const state = await domstate(env, rec.virsh, rec.connect, d);
      if (state !== 'running') problems.push(`guest ${d} is ${state || 'unknown here'}`);
    }
    return problems;
  },
};
