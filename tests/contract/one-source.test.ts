// One source per fact: bus subjects, stream names and id patterns are declared in proto/
// and reach the services only through the generated catalog (`@yixing/common`). A
// retyped copy drifts silently, so any copy in services/*/src fails here.
//
// Unit tests beside the code are scanned too: they should build subjects with
// subjectOf/subjectPattern like the code does. The one exception is the codec's own test,
// which pins the generated subjects against literals on purpose: it is the second witness
// that notices when a regeneration changes what travels on the wire.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { type DescMessage, getOption, hasOption } from '@bufbuild/protobuf';
import { catalog } from '@yixing/common';
import { rule } from '@yixing/common/internal';
import { repoRoot } from '../../infra/dev/paths.ts';

const GENERATED = /^services\/common\/src\/gen\//;
const PINS_THE_WIRE = new Set(['services/common/src/bus/codec.test.ts']);

/** Every message the catalog routes or replies with, and the messages they contain. */
function messagesOfCatalog(): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (m: DescMessage): void => {
    if (seen.has(m.typeName)) return;
    seen.set(m.typeName, m);
    for (const f of m.fields) if (f.message) visit(f.message);
  };
  for (const route of Object.values(catalog)) {
    visit(route.schema);
    if (route.reply) visit(route.reply);
  }
  return [...seen.values()];
}

/** The patterns of identifier fields (`*_id`, `profile`), without their anchors. */
function idPatterns(): string[] {
  const out = new Set<string>();
  for (const m of messagesOfCatalog()) {
    for (const f of m.fields) {
      if (!(f.name.endsWith('_id') || f.name === 'profile') || !hasOption(f, rule)) continue;
      const p = getOption(f, rule).pattern;
      if (p) out.add(p.replace(/^\^/, '').replace(/\$$/, ''));
    }
  }
  return [...out];
}

export interface Finding {
  line: number;
  what: string;
}

/** Quoted and template strings on one line (a stream's name as a catalog key is fine). */
const STRING_LITERAL = /'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g;

/** Copies of catalog facts in one source text; whole-line comments are not code. */
export function findCopies(source: string, facts: { streams: string[]; idPatterns: string[] }): Finding[] {
  const found: Finding[] = [];
  const streams = facts.streams.map((s) => ({ s, re: new RegExp(`\\b${s}\\b`) }));
  source.split('\n').forEach((text, i) => {
    if (/^\s*(\/\/|\/?\*)/.test(text)) return;
    const line = i + 1;
    for (const m of text.matchAll(/['"`/]yx\.v1\.[^'"`\s]*/g)) found.push({ line, what: `subject literal ${m[0].slice(1)}` });
    const strings = text.match(STRING_LITERAL) ?? [];
    for (const { s, re } of streams) if (strings.some((lit) => re.test(lit))) found.push({ line, what: `stream name ${s}` });
    for (const p of facts.idPatterns) if (text.includes(p)) found.push({ line, what: `id pattern ${p}` });
  });
  return found;
}

const facts = () => ({
  streams: [...new Set(Object.values(catalog).flatMap((r) => (r.stream ? [r.stream] : [])))],
  idPatterns: idPatterns(),
});

test('the scanner finds subject, stream and id pattern copies, not comments', () => {
  const src = [
    "const a = 'yx.v1.evt.run.>';",
    '// consumes yx.v1.evt.run.* from YX_EVENTS',
    'await js.publish(`yx.v1.log.h1.r1`, data);',
    "jsm.consumers.add('YX_EVENTS', cfg);",
    "const ok = catalog.runFinished.stream; const env = 'YX_EVENTS_MAX'; streams.YX_EVENTS.name;",
    'help: `consumed from YX_EVENTS`,',
    'const re = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;',
  ].join('\n');
  assert.deepEqual(findCopies(src, { streams: ['YX_EVENTS'], idPatterns: ['[A-Za-z0-9][A-Za-z0-9_-]{0,127}'] }), [
    { line: 1, what: 'subject literal yx.v1.evt.run.>' },
    { line: 3, what: 'subject literal yx.v1.log.h1.r1' },
    { line: 4, what: 'stream name YX_EVENTS' },
    { line: 6, what: 'stream name YX_EVENTS' },
    { line: 7, what: 'id pattern [A-Za-z0-9][A-Za-z0-9_-]{0,127}' },
  ]);
});

test('the catalog declares the streams and the host id pattern the scan looks for', () => {
  const f = facts();
  assert.ok(f.streams.includes('YX_EVENTS') && f.streams.includes('YX_LOGS'), `streams: ${f.streams.join(', ')}`);
  assert.ok(f.idPatterns.includes('[A-Za-z0-9][A-Za-z0-9_-]{0,127}'), `id patterns: ${f.idPatterns.join(', ')}`);
});

test('no subject, stream name or id pattern is retyped in services/*/src', async () => {
  const f = facts();
  const services = path.join(repoRoot, 'services');
  const found: string[] = [];
  for (const service of await readdir(services)) {
    const src = path.join(services, service, 'src');
    const files = await readdir(src, { recursive: true }).catch(() => [] as string[]);
    for (const file of files.filter((x) => x.endsWith('.ts')).sort()) {
      const where = path.posix.join('services', service, 'src', file.split(path.sep).join('/'));
      if (GENERATED.test(where) || PINS_THE_WIRE.has(where)) continue;
      for (const c of findCopies(await readFile(path.join(src, file), 'utf8'), f)) found.push(`${where}:${c.line}: ${c.what}`);
    }
  }
  assert.deepEqual(found, [], 'take these from the catalog in @yixing/common (generated from proto/)');
});
