// Migration profiles are data: YAML files validated against this schema. A profile names
// the source and target systems, the driver and its parameters, what to back up, which
// services and checks must pass afterwards. The agent runs nothing but what a profile on
// its own disk says; bus messages only name a profile.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { manifestPathProblem, patterns, YxError } from '@yixing/common/base';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { shippedDir } from '../build-info.ts';
import { type WorkloadHooks, workloadHooksSchema } from '../workloads/workload-config.ts';

export interface AptRepository {
  uri: string;
  suites: string[];
  components: string[];
  /** Addresses this repository is also known by (the original of a mirror). */
  aliases?: string[];
}

export interface DnfRepository {
  id: string;
  name: string;
  baseurl: string;
  gpgcheck: boolean;
  gpgkey?: string;
  /** Addresses this repository is also known by (the original of a mirror). */
  aliases?: string[];
}

export type CustomCheck =
  | { id: string; kind: 'file-exists'; path: string }
  | { id: string; kind: 'package-installed'; name: string }
  | { id: string; kind: 'command'; argv: string[] };

export interface Profile {
  name: string;
  description: string;
  source: { id: string; versions: string[] };
  target: { id: string; version: string; name?: string };
  driver: 'apt' | 'dnf';
  arch: string[];
  apt?: {
    repositories: AptRepository[];
    sourceRepositories: AptRepository[];
  };
  dnf?: {
    repositories: DnfRepository[];
    sourceRepositories: DnfRepository[];
    releaseSwap: { remove: string[]; install: string[] };
    allowErasing: boolean;
    afterUpgrade: { grub: boolean; initramfs: boolean; selinuxRelabel: boolean };
  };
  /** Absolute paths below the root; the root itself is not a path to restore in place. */
  backup: { paths: string[] };
  /** Free space needed, in MiB, per path of the root (the mount that holds it is measured). */
  space: Record<string, number>;
  /** Services that must run after the migration, besides those that ran before. */
  services: string[];
  checks: CustomCheck[];
  /** Kernel modules the target kernel is known not to ship (warnings when loaded). */
  removedModules: string[];
  /**
   * The rollback strategy this migration requires (a plan or `--rollback` overrides it):
   * `snapshot`, `packages`, or `any` (a snapshot where the root allows, else packages).
   */
  rollback: 'snapshot' | 'packages' | 'any';
  /** Workload hooks for the roles detected on a host (a site file's replace them per role). */
  workloads?: WorkloadHooks;
}

const str = { type: 'string', minLength: 1, maxLength: 512 } as const;
const strList = { type: 'array', items: str } as const;
const aptRepo = {
  type: 'object',
  additionalProperties: false,
  required: ['uri', 'suites', 'components'],
  properties: {
    uri: { type: 'string', pattern: '^(https?|file)://' },
    suites: { ...strList, minItems: 1 },
    components: { ...strList, minItems: 1 },
    aliases: { type: 'array', items: { type: 'string', pattern: '^(https?|file)://' } },
  },
} as const;
const dnfRepo = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'baseurl'],
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
    name: str,
    baseurl: { type: 'string', pattern: '^(https?|file)://' },
    gpgcheck: { type: 'boolean', default: true },
    gpgkey: str,
    aliases: { type: 'array', items: { type: 'string', pattern: '^(https?|file)://' } },
  },
} as const;

export const profileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'source', 'target', 'driver'],
  properties: {
    name: { type: 'string', pattern: patterns.runStep.profile },
    description: str,
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'versions'],
      properties: { id: str, versions: { ...strList, minItems: 1 } },
    },
    target: { type: 'object', additionalProperties: false, required: ['id', 'version'], properties: { id: str, version: str, name: str } },
    driver: { type: 'string', enum: ['apt', 'dnf'] },
    arch: { ...strList, default: ['x86_64'] },
    apt: {
      type: 'object',
      additionalProperties: false,
      required: ['repositories', 'sourceRepositories'],
      properties: {
        repositories: { type: 'array', minItems: 1, items: aptRepo },
        sourceRepositories: { type: 'array', minItems: 1, items: aptRepo },
      },
    },
    dnf: {
      type: 'object',
      additionalProperties: false,
      required: ['repositories', 'sourceRepositories', 'releaseSwap'],
      properties: {
        repositories: { type: 'array', minItems: 1, items: dnfRepo },
        sourceRepositories: { type: 'array', minItems: 1, items: dnfRepo },
        releaseSwap: {
          type: 'object',
          additionalProperties: false,
          required: ['remove', 'install'],
          properties: { remove: strList, install: { ...strList, minItems: 1 } },
        },
        allowErasing: { type: 'boolean', default: true },
        afterUpgrade: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            grub: { type: 'boolean', default: true },
            initramfs: { type: 'boolean', default: true },
            selinuxRelabel: { type: 'boolean', default: true },
          },
        },
      },
    },
    backup: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        paths: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^/[^/]' }, default: ['/etc'] },
      },
    },
    space: { type: 'object', default: {}, additionalProperties: { type: 'integer', minimum: 0 } },
    services: { ...strList, default: [] },
    checks: {
      type: 'array',
      default: [],
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'kind', 'path'],
            properties: { id: str, kind: { const: 'file-exists' }, path: str },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'kind', 'name'],
            properties: { id: str, kind: { const: 'package-installed' }, name: str },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'kind', 'argv'],
            properties: { id: str, kind: { const: 'command' }, argv: { ...strList, minItems: 1 } },
          },
        ],
      },
    },
    removedModules: { ...strList, default: [] },
    rollback: { type: 'string', enum: ['snapshot', 'packages', 'any'], default: 'any' },
    workloads: workloadHooksSchema,
  },
} as const;

export class ProfileError extends YxError {
  readonly code = 'PROFILE_INVALID';
  readonly retryable = false;
}

// Code not optimised: compiled at each start to check a few small files, in half the CPU.
const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true, code: { optimize: false } });
const validateProfile = ajv.compile(profileSchema);

function describe(file: string, e: ErrorObject): string {
  const where = e.instancePath || '(top)';
  if (e.keyword === 'additionalProperties') return `${file}: ${where}/${String(e.params.additionalProperty)} is not a known field`;
  if (e.keyword === 'required') return `${file}: ${where}/${String(e.params.missingProperty)} is required`;
  return `${file}: ${where} ${e.message ?? e.keyword}`;
}

/** Parses and validates one profile; the error names the file and the field. */
export function parseProfile(text: string, file: string): Profile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ProfileError(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const p = checkProfile(raw, file);
  if (path.basename(file, path.extname(file)) !== p.name) throw new ProfileError(`${file}: name ${p.name} does not match the file name`);
  return p;
}

/** Validates profile data from anywhere (a file, a run's recorded state); `where` names it. */
export function checkProfile(raw: unknown, where: string): Profile {
  if (!validateProfile(raw)) throw new ProfileError(describe(where, (validateProfile.errors ?? [])[0] as ErrorObject));
  const p = raw as unknown as Profile;
  if (p.driver === 'apt' && !p.apt) throw new ProfileError(`${where}: driver apt needs an apt section`);
  if (p.driver === 'dnf' && !p.dnf) throw new ProfileError(`${where}: driver dnf needs a dnf section`);
  // The rule a backup's manifest is held to: refused here, not after the backup was made.
  for (const bp of p.backup.paths) {
    const problem = manifestPathProblem(bp);
    if (problem) throw new ProfileError(`${where}: /backup/paths: ${JSON.stringify(bp)} ${problem}`);
  }
  return p;
}

/** The profiles shipped with the agent (services/host-agent/profiles, embedded in the executable). */
export const BUILTIN_PROFILES_DIR = shippedDir('profiles');

export async function loadProfiles(dir = BUILTIN_PROFILES_DIR): Promise<Map<string, Profile>> {
  const out = new Map<string, Profile>();
  for (const f of (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const p = parseProfile(await readFile(path.join(dir, f), 'utf8'), f);
    out.set(p.name, p);
  }
  return out;
}

/**
 * The profiles an agent offers: the shipped ones, then a site's own directory (which may
 * replace a shipped profile of the same name), with repository mirrors applied.
 */
export async function loadAgentProfiles(siteDir: string | undefined, mirrors: Record<string, string>): Promise<Map<string, Profile>> {
  const profiles = new Map<string, Profile>();
  for (const dir of [BUILTIN_PROFILES_DIR, ...(siteDir ? [siteDir] : [])])
    for (const [k, p] of await loadProfiles(dir)) profiles.set(k, withMirrors(p, mirrors));
  return profiles;
}

/**
 * Repository addresses replaced by mirrors (an internal mirror, or a test's loopback
 * server): {"http://deb.debian.org/debian": "http://127.0.0.1:8080/debian"}.
 */
export function withMirrors(profile: Profile, mirrors: Record<string, string>): Profile {
  const swap = (uri: string): string => {
    for (const [from, to] of Object.entries(mirrors)) if (uri === from || uri.startsWith(`${from}/`)) return to + uri.slice(from.length);
    return uri;
  };
  return {
    ...profile,
    ...(profile.apt
      ? {
          apt: {
            repositories: profile.apt.repositories.map((r) => ({ ...r, uri: swap(r.uri), aliases: [r.uri] })),
            sourceRepositories: profile.apt.sourceRepositories.map((r) => ({ ...r, uri: swap(r.uri), aliases: [r.uri] })),
          },
        }
      : {}),
    ...(profile.dnf
      ? {
          dnf: {
            ...profile.dnf,
            repositories: profile.dnf.repositories.map((r) => ({ ...r, baseurl: swap(r.baseurl), aliases: [r.baseurl] })),
            sourceRepositories: profile.dnf.sourceRepositories.map((r) => ({ ...r, baseurl: swap(r.baseurl), aliases: [r.baseurl] })),
          },
        }
      : {}),
  };
}
