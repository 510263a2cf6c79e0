// Reading what apt knows, as data: the stanzas of `Packages` indexes and of dpkg's
// status file, and the `Inst`/`Remv` lines of `apt-get -s`. Parsers are fed line by line
// (a full Debian index is tens of megabytes; nothing holds it whole).
import type { OfferedPackage, SimulatedUpgrade } from './classify-upgrade.ts';
import type { Relation } from './version-compare.ts';

const DEB_OPS: Record<string, Relation['op']> = { '<<': '<', '<=': '<=', '=': '=', '>=': '>=', '>>': '>', '<': '<=', '>': '>=' };

/** "a (>= 1.0), b:any | c [amd64] <!nocheck>" → every alternative, arch qualifiers dropped. */
export function parseDebRelations(text: string | undefined): Relation[] {
  if (!text) return [];
  const out: Relation[] = [];
  for (const alt of text.split(/[,|]/)) {
    const m = /^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?/.exec(alt);
    if (!m) continue;
    const op = m[2] ? DEB_OPS[m[2]] : undefined;
    out.push({ name: m[1] as string, ...(op && m[3] ? { op, version: m[3] } : {}) });
  }
  return out;
}

/** The fields the classifier reads from a stanza. */
const FIELDS = new Set(['Package', 'Version', 'Architecture', 'Source', 'Provides', 'Replaces', 'Status']);

/** Stanzas of a deb822 file (Packages, dpkg status), fed one line at a time. */
export class StanzaReader {
  readonly #onStanza: (fields: Map<string, string>) => void;
  #fields = new Map<string, string>();
  #last = '';

  constructor(onStanza: (fields: Map<string, string>) => void) {
    this.#onStanza = onStanza;
  }

  line(line: string): void {
    if (line.trim() === '') {
      this.end();
      return;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      // A folded continuation: only relation fields matter, and they join with a space.
      if (FIELDS.has(this.#last)) this.#fields.set(this.#last, `${this.#fields.get(this.#last)} ${line.trim()}`);
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    this.#last = line.slice(0, colon);
    if (FIELDS.has(this.#last)) this.#fields.set(this.#last, line.slice(colon + 1).trim());
  }

  end(): void {
    if (this.#fields.size > 0) this.#onStanza(this.#fields);
    this.#fields = new Map();
    this.#last = '';
  }
}

/** A Packages (or status) stanza as an offered package; null when it names no package. */
export function offeredFromStanza(f: Map<string, string>): OfferedPackage | null {
  const name = f.get('Package');
  const version = f.get('Version');
  if (!name || !version) return null;
  const source = /^(\S+)/.exec(f.get('Source') ?? '')?.[1];
  return {
    name,
    arch: f.get('Architecture') ?? 'all',
    version,
    ...(source ? { source } : {}),
    provides: parseDebRelations(f.get('Provides')),
    replaces: parseDebRelations(f.get('Replaces')),
  };
}

/** Every package of a whole deb822 text (tests, small files). */
export function parsePackagesText(text: string): OfferedPackage[] {
  const out: OfferedPackage[] = [];
  const reader = new StanzaReader((f) => {
    const p = offeredFromStanza(f);
    if (p) out.push(p);
  });
  for (const line of text.split('\n')) reader.line(line);
  reader.end();
  return out;
}

const splitArch = (spec: string): { name: string; arch?: string } => {
  const [name, arch] = spec.split(':') as [string, string | undefined];
  return arch ? { name, arch } : { name };
};

/**
 * `apt-get -s` lines: `Inst name[:arch] [old] (new release… [arch])` for what is
 * installed or upgraded, `Remv name[:arch] [old]` for what is removed.
 */
export function parseAptSimulation(text: string): SimulatedUpgrade {
  const plan: SimulatedUpgrade = { installs: [], removes: [] };
  for (const line of text.split('\n')) {
    const inst = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*?\[([^\]]+)\]\)/.exec(line);
    if (inst) {
      const { name, arch } = splitArch(inst[1] as string);
      plan.installs.push({ name, arch: arch ?? (inst[3] as string), version: inst[2] as string });
      continue;
    }
    const remv = /^(?:Remv|Purg) (\S+)/.exec(line);
    if (remv) plan.removes.push(splitArch(remv[1] as string));
  }
  // apt breaks an ordering loop by removing a package and installing it again later in
  // the same run (bookworm's cron after cron-daemon-common): that is an upgrade.
  const back = (r: { name: string; arch?: string }): boolean =>
    plan.installs.some((i) => i.name === r.name && (r.arch === undefined || r.arch === i.arch || i.arch === 'all'));
  plan.removes = plan.removes.filter((r) => !back(r));
  return plan;
}
