// A knowledge rule is data: a YAML file saying which facts of a host (packages and what the
// upgrade does to them, files and their content, loaded kernel modules, network interface
// names, kernel arguments, enabled services, configured repositories) mean a problem for
// which migrations, the finding to report (templated with what was found), and the data
// paths to back up. The shipped rules are in services/host-agent/knowledge; a site adds its
// own directory, where a file with a shipped rule's id replaces it.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { YxError } from '@yixing/common/base';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { Severity } from '../assessment/finding.ts';
import { shippedDir } from '../build-info.ts';
import type { PackageFate } from '../pm/package-manager.ts';

export interface PackageSelector {
  /** Regular expression on the package name; named groups become template values. */
  name: string;
  /** Regular expression on the installed version. */
  version?: string;
  /** Regular expression on the source package name. */
  source?: string;
  /** What the upgrade does to it (from the preview); a package the preview does not classify matches none. */
  fate?: PackageFate[];
  /**
   * A regular expression whose first group (or group `major`) is the version's major: the
   * package matches when the upgrade takes it to another major. Its groups are template
   * values: from the installed version as named, from the target version prefixed `target_`.
   */
  majorChange?: string;
}

export interface FileSelector {
  /** A glob of absolute paths in the root (`/etc/sysconfig/network-scripts/ifcfg-*`). */
  path: string;
  /** A regular expression (multiline) on the first 64 KiB of a regular file; named groups become template values. */
  contains?: string;
}

export interface ModuleSelector {
  name?: string;
  /** Only modules the profile lists in removedModules (the target kernel does not ship them). */
  removedInTarget?: boolean;
}

export interface ServiceSelector {
  name: string;
  /** enabled: a systemd *.wants link in the root's /etc; running: seen running on the live host. */
  state?: 'enabled' | 'running';
}

export interface RepositorySelector {
  uri: string;
  /** Whether the profile knows the repository (one of its source or target repositories). */
  known?: boolean;
}

/** One kind of fact and what it must look like. */
export interface Selector {
  package?: PackageSelector;
  file?: FileSelector;
  module?: ModuleSelector;
  /** Network interfaces named in the root's configuration; `name` is a regular expression. */
  interface?: { name: string };
  /** Kernel command line arguments (running kernel, boot loader default); `name` matches `key` or `key=value`. */
  kernelArg?: { name: string };
  service?: ServiceSelector;
  repository?: RepositorySelector;
}

export type SelectorKind = keyof Selector;

export interface KnowledgeRule {
  id: string;
  description: string;
  /** Which migrations the rule is about; an empty list means any. */
  applies: { profiles: string[]; sources: string[]; drivers: ('apt' | 'dnf')[] };
  /** Every fact any of these selects is a match. */
  match: Selector[];
  /** The rule does not fire when any of these selects a fact. */
  unless: Selector[];
  /** One finding per match (true) or one for all of them. */
  each: boolean;
  finding: { severity: Severity; inhibitor: boolean; title: string; detail: string; remediation: string };
  /** Paths to back up with the configuration, templated like the finding. */
  dataPaths: string[];
  /** Data paths larger than this are not backed up (the assessment says so). */
  maxBackupMiB: number;
  /** Services (regular expressions) whose data the data paths hold. */
  services: string[];
  /** The file it was read from, for messages. */
  file: string;
}

const str = { type: 'string', minLength: 1, maxLength: 2048 } as const;
const text = { type: 'string', maxLength: 4096 } as const;
const strList = { type: 'array', items: str } as const;
const fates: PackageFate[] = ['upgraded', 'unchanged', 'replaced', 'removed', 'orphaned', 'foreign', 'new'];
const object = (required: string[], properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, required, properties }) as const;

const selector = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    package: object(['name'], {
      name: str,
      version: str,
      source: str,
      fate: { type: 'array', minItems: 1, items: { enum: fates } },
      majorChange: str,
    }),
    file: object(['path'], { path: { type: 'string', pattern: '^/[^/]', maxLength: 1024 }, contains: str }),
    module: object([], { name: str, removedInTarget: { type: 'boolean' } }),
    interface: object(['name'], { name: str }),
    kernelArg: object(['name'], { name: str }),
    service: object(['name'], { name: str, state: { enum: ['enabled', 'running'], default: 'enabled' } }),
    repository: object(['uri'], { uri: str, known: { type: 'boolean' } }),
  },
} as const;

export const ruleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'description', 'match', 'finding'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
    description: str,
    applies: object([], {
      profiles: { ...strList, default: [] },
      sources: { type: 'array', default: [], items: { type: 'string', pattern: '^[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?$' } },
      drivers: { type: 'array', default: [], items: { enum: ['apt', 'dnf'] } },
    }),
    match: { type: 'array', minItems: 1, items: selector },
    unless: { type: 'array', default: [], items: selector },
    each: { type: 'boolean', default: false },
    finding: object(['severity', 'title', 'remediation'], {
      severity: { enum: ['info', 'low', 'medium', 'high'] },
      inhibitor: { type: 'boolean', default: false },
      title: str,
      detail: { ...text, default: '' },
      remediation: text,
    }),
    dataPaths: { type: 'array', default: [], items: { type: 'string', pattern: '^/[^/]', maxLength: 1024 } },
    maxBackupMiB: { type: 'integer', minimum: 0, default: 1024 },
    services: { ...strList, default: [] },
  },
} as const;

export class KnowledgeRuleError extends YxError {
  readonly code = 'KNOWLEDGE_RULE_INVALID';
  readonly retryable = false;
}

// Code not optimised: compiled at each start to check a few small files, in half the CPU.
const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true, code: { optimize: false } });
// `applies` and its lists default even when absent.
const validateRule = ajv.compile({
  ...ruleSchema,
  properties: { ...ruleSchema.properties, applies: { ...ruleSchema.properties.applies, default: {} } },
});

function describe(file: string, e: ErrorObject): string {
  const where = e.instancePath || '(top)';
  if (e.keyword === 'additionalProperties') return `${file}: ${where}/${String(e.params.additionalProperty)} is not a known field`;
  if (e.keyword === 'required') return `${file}: ${where}/${String(e.params.missingProperty)} is required`;
  if (e.keyword === 'minProperties' || e.keyword === 'maxProperties')
    return `${file}: ${where} must name exactly one kind of fact (${Object.keys(selector.properties).join(', ')})`;
  return `${file}: ${where} ${e.message ?? e.keyword}`;
}

/** Values every match of a selector kind has, besides the named groups of its expressions. */
export const BASE_VALUES: Record<SelectorKind, string[]> = {
  package: ['name', 'arch', 'version', 'source', 'fate', 'to'],
  file: ['path', 'line'],
  module: ['name'],
  interface: ['name', 'file'],
  kernelArg: ['name'],
  service: ['name'],
  repository: ['uri', 'file'],
};

/**
 * Values every finding can use: the profile, the source release (`release`), the target
 * release, and the number and list of matches.
 */
export const RULE_VALUES = ['profile', 'release', 'target', 'count', 'items'];

const groupNames = (re: string): string[] => [...re.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1] as string);

/** The regular expressions of a selector, with the field each is in. */
function expressions(s: Selector): { field: string; re: string; prefixes: string[] }[] {
  const out: { field: string; re: string; prefixes: string[] }[] = [];
  for (const [kind, fields] of Object.entries(s) as [SelectorKind, Record<string, unknown>][])
    for (const [field, value] of Object.entries(fields))
      if (typeof value === 'string' && field !== 'path' && field !== 'state')
        out.push({ field: `${kind}/${field}`, re: value, prefixes: field === 'majorChange' ? ['', 'target_'] : [''] });
  return out;
}

export const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Checks what the schema cannot: expressions compile, templates use only values a match has. */
function checkRule(r: KnowledgeRule, file: string): void {
  const values = new Set(RULE_VALUES);
  const check = (list: Selector[], at: string, collect: boolean): void =>
    list.forEach((s, i) => {
      for (const kind of Object.keys(s) as SelectorKind[]) if (collect) for (const v of BASE_VALUES[kind]) values.add(v);
      for (const { field, re, prefixes } of expressions(s)) {
        try {
          new RegExp(re);
        } catch (err) {
          throw new KnowledgeRuleError(`${file}: /${at}/${i}/${field} is not a regular expression (${(err as Error).message})`);
        }
        if (collect) for (const g of groupNames(re)) for (const prefix of prefixes) values.add(prefix + g);
      }
    });
  check(r.match, 'match', true);
  check(r.unless, 'unless', false);
  for (const s of r.services)
    try {
      new RegExp(s);
    } catch (err) {
      throw new KnowledgeRuleError(`${file}: /services ${s} is not a regular expression (${(err as Error).message})`);
    }
  const templated: [string, string][] = [
    ...Object.entries(r.finding)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([k, v]) => [`finding/${k}`, v] as [string, string]),
    ...r.dataPaths.map((p, i) => [`dataPaths/${i}`, p] as [string, string]),
  ];
  for (const [field, t] of templated)
    for (const m of t.matchAll(TEMPLATE))
      if (!values.has(m[1] as string))
        throw new KnowledgeRuleError(`${file}: /${field} uses {{${m[1]}}}, which no match has (it has ${[...values].sort().join(', ')})`);
}

/** Parses and validates one rule file; the error names the file and the field. */
export function parseRule(text: string, file: string): KnowledgeRule {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new KnowledgeRuleError(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!validateRule(raw)) throw new KnowledgeRuleError(describe(file, (validateRule.errors ?? [])[0] as ErrorObject));
  const rule = { ...(raw as Omit<KnowledgeRule, 'file'>), file };
  if (path.basename(file, path.extname(file)) !== rule.id)
    throw new KnowledgeRuleError(`${file}: id ${rule.id} does not match the file name`);
  checkRule(rule, file);
  return rule;
}

/** The rules shipped with the agent (services/host-agent/knowledge, embedded in the executable). */
export const BUILTIN_KNOWLEDGE_DIR = shippedDir('knowledge');

async function loadDir(dir: string): Promise<KnowledgeRule[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new KnowledgeRuleError(`${dir}: not a readable directory of knowledge rules (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const out: KnowledgeRule[] = [];
  for (const f of names.filter((n) => /\.ya?ml$/.test(n)).sort())
    out.push(parseRule(await readFile(path.join(dir, f), 'utf8'), path.join(dir, f)));
  return out;
}

/** The shipped rules, then a site's directory (a rule with a shipped rule's id replaces it). */
export async function loadKnowledgeRules(siteDir?: string): Promise<KnowledgeRule[]> {
  const rules = new Map<string, KnowledgeRule>();
  for (const dir of [BUILTIN_KNOWLEDGE_DIR, ...(siteDir ? [siteDir] : [])]) for (const r of await loadDir(dir)) rules.set(r.id, r);
  return [...rules.values()];
}
