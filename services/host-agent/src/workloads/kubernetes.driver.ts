// Kubernetes nodes (through kubectl and the API server): drain records whether the node
// was schedulable, cordons it and evicts its pods (DaemonSets stay, emptyDir data goes);
// undrain uncordons it only if it was schedulable before, and checks it is Ready.
import type { KubernetesHook } from './workload-config.ts';
import { mustRunWorkload, type RestoreResult, type WorkloadDriver, type WorkloadEnv } from './workload-driver.ts';

export interface KubernetesRecord {
  kubectl: string[];
  node: string;
  /** Cordoned before the drain (by someone else): undrain leaves it cordoned. */
  wasUnschedulable: boolean;
  /** The pods the drain evicted (`namespace/name` as kubectl prints them). */
  evicted: string[];
}

export interface NodeState {
  unschedulable: boolean;
  ready: boolean;
}

interface NodeJson {
  spec?: { unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

/** `kubectl get node -o json`: whether it is cordoned and Ready. Pure. */
export function parseNodeState(stdout: string): NodeState {
  const n = JSON.parse(stdout) as NodeJson;
  return {
    unschedulable: n.spec?.unschedulable === true,
    ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  };
}

/** The pods `kubectl drain` says it evicted or deleted. Pure. */
export function evictedPods(stdout: string): string[] {
  return [...stdout.matchAll(/^pod\/(\S+) (?:evicted|deleted)$/gm)].map((m) => m[1] as string);
}

const base = (hook: { kubectl: string[]; kubeconfig?: string }): string[] => [
  ...hook.kubectl,
  ...(hook.kubeconfig ? ['--kubeconfig', hook.kubeconfig] : []),
];

async function nodeState(env: WorkloadEnv, kubectl: string[], node: string): Promise<NodeState> {
  return parseNodeState((await mustRunWorkload(env, [...kubectl, 'get', 'node', node, '-o', 'json'])).stdout);
}

function problemsOf(rec: KubernetesRecord, s: NodeState): string[] {
  const out: string[] = [];
  if (!rec.wasUnschedulable && s.unschedulable) out.push(`node ${rec.node} is still cordoned`);
  if (!s.ready) out.push(`node ${rec.node} is not Ready`);
  return out;
}

export const kubernetesDriver: WorkloadDriver<KubernetesHook, KubernetesRecord> = {
  role: 'kubernetes-node',

  async drain(env, hook, save, previous) {
    let rec = previous;
    if (!rec) {
      const kubectl = base(hook);
      const node = hook.node ?? env.hostname;
      rec = { kubectl, node, wasUnschedulable: (await nodeState(env, kubectl, node)).unschedulable, evicted: [] };
      await save(rec);
    }
    await mustRunWorkload(env, [...rec.kubectl, 'cordon', rec.node]);
    const drained = await mustRunWorkload(env, [
      ...rec.kubectl,
      'drain',
      rec.node,
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      `--timeout=${hook.drainTimeoutSeconds}s`,
    ]);
    rec = { ...rec, evicted: [...new Set([...rec.evicted, ...evictedPods(drained.stdout)])] };
    env.log(`kubernetes: node ${rec.node} cordoned and drained (${rec.evicted.length} pods evicted)`, 'agent');
    return rec;
  },

  async undrain(env, _hook, rec): Promise<RestoreResult> {
    if (!rec.wasUnschedulable) await mustRunWorkload(env, [...rec.kubectl, 'uncordon', rec.node]);
    else env.log(`kubernetes: node ${rec.node} was cordoned before the drain; it stays cordoned`, 'agent');
    const problems = problemsOf(rec, await nodeState(env, rec.kubectl, rec.node));
    return { restored: problems.length === 0 ? [rec.node] : [], problems };
  },

  async check(env, _hook, rec) {
    return problemsOf(rec, await nodeState(env, rec.kubectl, rec.node));
  },
};
