// Workload hooks are data: a site file (`--workloads FILE`, YX_AGENT_WORKLOADS) or a
// profile's `workloads` section declares, per role, what drain and undrain do and with
// which parameters. Every program is an argv array from the agent's own disk; nothing
// from the bus becomes a command.
import { readFile } from 'node:fs/promises';
import { YxError } from '@yixing/common/base';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

/** The roles the agent detects and has drain/undrain drivers for. */
export const ROLES = ['containers', 'libvirt', 'kubernetes-node', 'hdfs-datanode', 'yarn-nodemanager'] as const;
export type Role = (typeof ROLES)[number];

export interface ContainersHook {
  /** The runtime's CLI: `[podman]`, `[docker]`, or a full path with options. */
  runtime: string[];
  /** Only running containers with all of these labels are drained (all running ones without). */
  labels: Record<string, string>;
  /** Seconds `stop -t` gives a container before it is killed. */
  stopTimeoutSeconds: number;
  /** Seconds a restarted container must keep running (not exit, not restart) to count as back. */
  settleSeconds: number;
}

export interface LibvirtHook {
  virsh: string[];
  /** The local hypervisor. */
  connect: string;
  mode: 'migrate' | 'shutdown';
  /** migrate: where the guests go (`qemu+ssh://peer/system`). */
  peer?: string;
  /** migrate: how the peer reaches this host, to bring the guests back. */
  returnUri?: string;
  /** shutdown: seconds a guest has to power off. */
  shutdownTimeoutSeconds: number;
}

export interface KubernetesHook {
  kubectl: string[];
  /** The kubeconfig kubectl uses (absent: kubectl's own default). */
  kubeconfig?: string;
  /** The node's name in the cluster (absent: this host's name). */
  node?: string;
  drainTimeoutSeconds: number;
}

export interface HdfsHook {
  hdfs: string[];
  /** decommission: the dfs.hosts.exclude file; maintenance: the JSON dfs.hosts file. */
  mode: 'decommission' | 'maintenance';
  hostsFile: string;
  /** The datanode as the namenode names it (absent: this host's name). */
  host?: string;
  waitTimeoutSeconds: number;
}

export interface YarnHook {
  yarn: string[];
  /** The yarn.resourcemanager.nodes.exclude-path file. */
  excludeFile: string;
  /** The node manager as the resource manager names it (absent: this host's name). */
  host?: string;
  /** Seconds a graceful decommission waits for running containers to finish. */
  decommissionTimeoutSeconds: number;
}

export interface WorkloadHooks {
  containers?: ContainersHook;
  libvirt?: LibvirtHook;
  'kubernetes-node'?: KubernetesHook;
  'hdfs-datanode'?: HdfsHook;
  'yarn-nodemanager'?: YarnHook;
}

const argv = (program: string) =>
  ({ type: 'array', minItems: 1, maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 512 }, default: [program] }) as const;
const seconds = (dflt: number) => ({ type: 'integer', minimum: 0, maximum: 86_400, default: dflt }) as const;
const absolute = { type: 'string', pattern: '^/', maxLength: 512 } as const;
const name = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$' } as const;
const uri = { type: 'string', pattern: '^[a-z][a-z0-9+]*:', maxLength: 512 } as const;

export const workloadHooksSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    containers: {
      type: 'object',
      additionalProperties: false,
      properties: {
        runtime: argv('podman'),
        labels: { type: 'object', default: {}, additionalProperties: { type: 'string', maxLength: 256 } },
        stopTimeoutSeconds: seconds(30),
        settleSeconds: seconds(10),
      },
    },
    libvirt: {
      type: 'object',
      additionalProperties: false,
      required: ['mode'],
      properties: {
        virsh: argv('virsh'),
        connect: { ...uri, default: 'qemu:///system' },
        mode: { type: 'string', enum: ['migrate', 'shutdown'] },
        peer: uri,
        returnUri: uri,
        shutdownTimeoutSeconds: seconds(300),
      },
    },
    'kubernetes-node': {
      type: 'object',
      additionalProperties: false,
      properties: {
        kubectl: argv('kubectl'),
        kubeconfig: absolute,
        node: name,
        drainTimeoutSeconds: seconds(600),
      },
    },
    'hdfs-datanode': {
      type: 'object',
      additionalProperties: false,
      required: ['hostsFile'],
      properties: {
        hdfs: argv('hdfs'),
        mode: { type: 'string', enum: ['decommission', 'maintenance'], default: 'maintenance' },
        hostsFile: absolute,
        host: name,
        waitTimeoutSeconds: seconds(3600),
      },
    },
    'yarn-nodemanager': {
      type: 'object',
      additionalProperties: false,
      required: ['excludeFile'],
      properties: {
        yarn: argv('yarn'),
        excludeFile: absolute,
        host: name,
        decommissionTimeoutSeconds: seconds(3600),
      },
    },
  },
} as const;

export class WorkloadConfigError extends YxError {
  readonly code = 'WORKLOADS_CONFIG_INVALID';
  readonly retryable = false;
}

// Compiled when first needed: most runs have no hooks, and compiling costs start-up time.
let validate: ValidateFunction | undefined;
const validator = (): ValidateFunction => {
  // Code not optimised: compiled at each start to check a few small files, in half the CPU.
  validate ??= new Ajv({ allErrors: false, useDefaults: true, strict: true, code: { optimize: false } }).compile(workloadHooksSchema);
  return validate;
};

function describe(where: string, e: ErrorObject): string {
  const at = e.instancePath || '(top)';
  if (e.keyword === 'additionalProperties') return `${where}: ${at}/${String(e.params.additionalProperty)} is not a known field`;
  if (e.keyword === 'required') return `${where}: ${at}/${String(e.params.missingProperty)} is required`;
  return `${where}: ${at} ${e.message ?? e.keyword}`;
}

/** Validates hook data (a site file's, a profile's section); the error names `where` and the field. */
export function checkWorkloadHooks(raw: unknown, where: string): WorkloadHooks {
  const data = structuredClone(raw ?? {});
  const valid = validator();
  if (!valid(data)) throw new WorkloadConfigError(describe(where, (valid.errors ?? [])[0] as ErrorObject));
  const hooks = data as WorkloadHooks;
  const v = hooks.libvirt;
  if (v?.mode === 'migrate' && (!v.peer || !v.returnUri))
    throw new WorkloadConfigError(`${where}: /libvirt mode migrate needs peer (where the guests go) and returnUri (how they come back)`);
  return hooks;
}

export function parseWorkloadHooks(text: string, where: string): WorkloadHooks {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new WorkloadConfigError(`${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  return checkWorkloadHooks(raw, where);
}

export async function loadWorkloadHooks(file: string | undefined): Promise<WorkloadHooks> {
  if (!file) return {};
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WorkloadConfigError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseWorkloadHooks(text, file);
}

/** The hooks a run uses: the profile's, with the site file's per role replacing them. Pure. */
export function effectiveHooks(profile: WorkloadHooks | undefined, site: WorkloadHooks | undefined): WorkloadHooks {
  return { ...(profile ?? {}), ...(site ?? {}) };
}

/**
 * The order drains run in: cluster schedulers first (so they move work away while the
 * node still serves), the node's own guests and containers last. Undrain runs it backwards.
 */
export const DRAIN_ORDER: readonly Role[] = ['kubernetes-node', 'yarn-nodemanager', 'hdfs-datanode', 'libvirt', 'containers'];

/** The declared roles in drain order. Pure. */
export function declaredRoles(hooks: WorkloadHooks): Role[] {
  return DRAIN_ORDER.filter((r) => hooks[r] !== undefined);
}
