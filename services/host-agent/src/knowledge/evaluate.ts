// Knowledge rules evaluated against a host's facts: pure. A rule that applies to the
// migration and whose selectors match (and whose `unless` selectors do not) yields a
// finding, once for all its matches or once per match, with the values found filled in,
// and the data paths it names.
import path from 'node:path';
import type { Finding } from '../assessment/finding.ts';
import type { Profile } from '../profiles/profile.ts';
import type { HostFacts } from './facts.ts';
import { type KnowledgeRule, type Selector, type SelectorKind, TEMPLATE } from './rule.ts';

export interface Match {
  kind: SelectorKind;
  /** What the match is (a package name, a path, ...): the same thing matched twice is one match. */
  key: string;
  label: string;
  values: Record<string, string>;
}

export interface RuleHit {
  rule: KnowledgeRule;
  findings: Finding[];
  /** Data paths named, normalized and deduplicated. */
  dataPaths: string[];
  /** Data paths the templates made into something that is not a path below the root. */
  badDataPaths: string[];
}

/** Named groups of a match (undefined groups as empty strings). */
const groups = (m: RegExpExecArray | null): Record<string, string> =>
  Object.fromEntries(Object.entries(m?.groups ?? {}).map(([k, v]) => [k, v ?? '']));

const prefixed = (values: Record<string, string>, prefix: string): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [prefix + k, v]));

/** The major of a version by `re` (its group `major`, else its first group, else the whole match). */
function major(re: RegExp, version: string): { major: string; values: Record<string, string> } | null {
  const m = re.exec(version);
  if (!m) return null;
  return { major: m.groups?.major ?? m[1] ?? m[0], values: groups(m) };
}

/** What one selector selects among the facts. */
export function select(sel: Selector, facts: HostFacts, profile: Profile): Match[] {
  const out: Match[] = [];
  if (sel.package) {
    const s = sel.package;
    const name = new RegExp(s.name);
    for (const p of facts.packages) {
      const n = name.exec(p.name);
      if (!n) continue;
      const v = s.version ? new RegExp(s.version).exec(p.version) : null;
      if (s.version && !v) continue;
      const src = s.source ? new RegExp(s.source).exec(p.source ?? '') : null;
      if (s.source && (!p.source || !src)) continue;
      if (s.fate && (!p.fate || !s.fate.includes(p.fate))) continue;
      let target: Record<string, string> = {};
      if (s.majorChange) {
        const re = new RegExp(s.majorChange);
        const from = major(re, p.version);
        const to = p.to ? major(re, p.to) : null;
        if (!from || !to || from.major === to.major) continue;
        target = { ...from.values, ...prefixed(to.values, 'target_') };
      }
      out.push({
        kind: 'package',
        key: `${p.name}:${p.arch}`,
        label: `${p.name} ${p.version}`,
        values: {
          name: p.name,
          arch: p.arch,
          version: p.version,
          source: p.source ?? '',
          fate: p.fate ?? '',
          to: p.to ?? '',
          ...groups(n),
          ...groups(v),
          ...groups(src),
          ...target,
        },
      });
    }
  }
  if (sel.file) {
    const contains = sel.file.contains === undefined ? null : new RegExp(sel.file.contains, 'm');
    for (const f of facts.files[sel.file.path] ?? []) {
      if (!contains) {
        out.push({ kind: 'file', key: f.path, label: f.path, values: { path: f.path, line: '' } });
        continue;
      }
      const m = f.text === undefined ? null : contains.exec(f.text);
      if (m) out.push({ kind: 'file', key: f.path, label: f.path, values: { path: f.path, line: m[0].trim(), ...groups(m) } });
    }
  }
  if (sel.module && facts.modules) {
    const s = sel.module;
    const name = s.name === undefined ? null : new RegExp(s.name);
    for (const mod of facts.modules) {
      const n = name ? name.exec(mod) : null;
      if (name && !n) continue;
      if (s.removedInTarget && !profile.removedModules.includes(mod)) continue;
      out.push({ kind: 'module', key: mod, label: mod, values: { name: mod, ...groups(n) } });
    }
  }
  if (sel.interface) {
    const name = new RegExp(sel.interface.name);
    for (const i of facts.interfaces) {
      const n = name.exec(i.name);
      if (n)
        out.push({ kind: 'interface', key: i.name, label: `${i.name} (${i.file})`, values: { name: i.name, file: i.file, ...groups(n) } });
    }
  }
  if (sel.kernelArg) {
    const name = new RegExp(sel.kernelArg.name);
    for (const a of facts.kernelArgs) {
      const n = name.exec(a);
      if (n) out.push({ kind: 'kernelArg', key: a, label: a, values: { name: a, ...groups(n) } });
    }
  }
  if (sel.service) {
    const name = new RegExp(sel.service.name);
    const list = sel.service.state === 'running' ? (facts.services.running ?? []) : facts.services.enabled;
    for (const svc of list) {
      const n = name.exec(svc);
      if (n) out.push({ kind: 'service', key: svc, label: svc, values: { name: svc, ...groups(n) } });
    }
  }
  if (sel.repository) {
    const s = sel.repository;
    const uri = new RegExp(s.uri);
    for (const r of facts.repositories) {
      const u = uri.exec(r.uri);
      if (!u || (s.known !== undefined && r.known !== s.known)) continue;
      out.push({
        kind: 'repository',
        key: `${r.uri} ${r.file}`,
        label: `${r.uri} (${r.file})`,
        values: { uri: r.uri, file: r.file, ...groups(u) },
      });
    }
  }
  return out;
}

/** Whether the rule is about this migration (its profile, source release and driver). */
export function ruleApplies(rule: KnowledgeRule, profile: Profile): boolean {
  const a = rule.applies;
  if (a.profiles.length > 0 && !a.profiles.includes(profile.name)) return false;
  if (a.drivers.length > 0 && !a.drivers.includes(profile.driver)) return false;
  if (a.sources.length === 0) return true;
  return a.sources.some((s) => {
    const [id, version] = s.split(':') as [string, string | undefined];
    return id === profile.source.id && (version === undefined || profile.source.versions.includes(version));
  });
}

export const render = (template: string, values: Record<string, string>): string =>
  template.replace(TEMPLATE, (_, name: string) => values[name] ?? '');

const MAX_ITEMS = 20;

function itemList(matches: Match[]): string {
  const labels = matches.map((m) => m.label);
  return labels.length <= MAX_ITEMS ? labels.join(', ') : `${labels.slice(0, MAX_ITEMS).join(', ')} and ${labels.length - MAX_ITEMS} more`;
}

/** A data path below the root, normalized; null for anything else (the root itself, `..`, a relative path). */
export function dataPath(p: string): string | null {
  if (!p.startsWith('/') || p.includes('\0') || p.split('/').some((seg) => seg === '..' || seg === '.')) return null;
  const n = path.posix.normalize(p).replace(/\/+$/, '');
  return n === '' ? null : n;
}

/** Evaluates one rule; null when it does not fire. */
export function evaluateRule(rule: KnowledgeRule, facts: HostFacts, profile: Profile): RuleHit | null {
  if (!ruleApplies(rule, profile)) return null;
  if (rule.unless.some((s) => select(s, facts, profile).length > 0)) return null;
  const byKey = new Map<string, Match>();
  for (const s of rule.match)
    for (const m of select(s, facts, profile)) if (!byKey.has(`${m.kind} ${m.key}`)) byKey.set(`${m.kind} ${m.key}`, m);
  const matches = [...byKey.values()];
  if (matches.length === 0) return null;
  const migration = {
    profile: profile.name,
    release: `${profile.source.id} ${profile.source.versions.join('/')}`,
    target: `${profile.target.id} ${profile.target.version}${profile.target.name ? ` (${profile.target.name})` : ''}`,
  };
  const finding = (values: Record<string, string>, id: string): Finding => ({
    id,
    severity: rule.finding.severity,
    inhibitor: rule.finding.inhibitor,
    title: render(rule.finding.title, values),
    detail: render(rule.finding.detail, values),
    remediation: render(rule.finding.remediation, values),
  });
  const valuesOf = (m: Match, group: Match[]): Record<string, string> => ({
    ...migration,
    ...m.values,
    count: String(group.length),
    items: itemList(group),
  });
  const findings = rule.each
    ? matches.map((m) => finding(valuesOf(m, [m]), `${rule.id}:${m.values.name ?? m.values.path ?? m.values.uri ?? m.key}`))
    : [finding(valuesOf(matches[0] as Match, matches), rule.id)];
  const paths = new Set<string>();
  const bad = new Set<string>();
  for (const m of matches)
    for (const t of rule.dataPaths) {
      const rendered = render(t, valuesOf(m, rule.each ? [m] : matches));
      const p = dataPath(rendered);
      if (p) paths.add(p);
      else bad.add(rendered);
    }
  return { rule, findings, dataPaths: [...paths].sort(), badDataPaths: [...bad].sort() };
}

/** Every rule that fires, in the order given. */
export function evaluateRules(rules: KnowledgeRule[], facts: HostFacts, profile: Profile): RuleHit[] {
  return rules.map((r) => evaluateRule(r, facts, profile)).filter((h): h is RuleHit => h !== null);
}
