import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BUILTIN_KNOWLEDGE_DIR, KnowledgeRuleError, loadKnowledgeRules, parseRule } from './rule.ts';

const minimal = (id = 'site-rule'): string =>
  [
    `id: ${id}`,
    'description: a site rule',
    'match:',
    '  - package: { name: "^foo-(?<major>[0-9]+)$" }',
    'finding:',
    '  severity: low',
    '  title: "foo {{major}} on {{release}} to {{target}}"',
    '  remediation: remove foo',
    '',
  ].join('\n');

test('the shipped rules load, each file named by its rule id', async () => {
  const rules = await loadKnowledgeRules();
  const ids = rules.map((r) => r.id).sort();
  for (const id of [
    'enabled-services',
    'kernel-modules-dropped',
    'mysql-major-change',
    'network-interface-names',
    'postgresql-major-not-in-target',
    'python2-removed',
    'python2-scripts',
    'third-party-repository-without-target',
  ])
    assert.ok(ids.includes(id), `${id} is shipped`);
  for (const r of rules) assert.equal(path.dirname(r.file), BUILTIN_KNOWLEDGE_DIR);
});

test('defaults: applies to any migration, one finding for all matches, no data paths', () => {
  const r = parseRule(minimal(), '/site/site-rule.yaml');
  assert.deepEqual(r.applies, { profiles: [], sources: [], drivers: [] });
  assert.equal(r.each, false);
  assert.equal(r.finding.inhibitor, false);
  assert.equal(r.finding.detail, '');
  assert.deepEqual(r.dataPaths, []);
  assert.deepEqual(r.unless, []);
  assert.equal(r.maxBackupMiB, 1024);
});

test('a bad rule file is an error naming the file and the field', () => {
  const bad: [string, RegExp][] = [
    [minimal().replace('severity: low', 'severity: urgent'), /site-rule\.yaml: \/finding\/severity must be equal to one of/],
    [minimal().replace('  - package:', '  - pakage:'), /site-rule\.yaml: \/match\/0\/pakage is not a known field/],
    [
      minimal().replace('  - package: { name: "^foo-(?<major>[0-9]+)$" }', '  - { package: { name: a }, file: { path: /etc/a } }'),
      /site-rule\.yaml: \/match\/0 must name exactly one kind of fact/,
    ],
    [minimal().replace('^foo-(?<major>[0-9]+)$', 'foo-(['), /site-rule\.yaml: \/match\/0\/package\/name is not a regular expression/],
    [minimal().replace('foo {{major}}', 'foo {{minor}}'), /site-rule\.yaml: \/finding\/title uses \{\{minor\}\}, which no match has/],
    [`${minimal()}dataPaths: [var/lib/foo]\n`, /site-rule\.yaml: \/dataPaths\/0 must match pattern/],
    [`${minimal()}dataPaths: ["/var/lib/{{nope}}"]\n`, /site-rule\.yaml: \/dataPaths\/0 uses \{\{nope\}\}/],
    [
      minimal().replace('match:\n  - package: { name: "^foo-(?<major>[0-9]+)$" }\n', 'match: []\n'),
      /site-rule\.yaml: \/match must NOT have fewer than 1 items/,
    ],
    [minimal().replace('remediation: remove foo', 'fix: remove foo'), /site-rule\.yaml: \/finding\/remediation is required/],
    ['id: [', /site-rule\.yaml: not valid YAML/],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => parseRule(text, '/site/site-rule.yaml'),
      (e: unknown) => e instanceof KnowledgeRuleError && message.test(e.message),
      text,
    );
  }
  assert.throws(() => parseRule(minimal('other-id'), '/site/site-rule.yaml'), /site-rule\.yaml: id other-id does not match the file name/);
});

test('the groups of majorChange are values of the installed and of the target version', () => {
  const text = minimal()
    .replace('"^foo-(?<major>[0-9]+)$" }', '"^db$", majorChange: "^(?<maj>[0-9]+)" }')
    .replace('foo {{major}}', 'db {{maj}} to {{target_maj}}');
  assert.equal(parseRule(text, 'site-rule.yaml').finding.title, 'db {{maj}} to {{target_maj}} on {{release}} to {{target}}');
});

test('a site directory adds rules and replaces a shipped rule with the same id; a bad site file stops the load', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-knowledge-'));
  try {
    await writeFile(path.join(dir, 'site-rule.yaml'), minimal());
    const shipped = await readFile(path.join(BUILTIN_KNOWLEDGE_DIR, 'enabled-services.yaml'), 'utf8');
    await writeFile(path.join(dir, 'enabled-services.yaml'), shipped.replace('severity: info', 'severity: low'));
    const rules = await loadKnowledgeRules(dir);
    assert.ok(rules.some((r) => r.id === 'site-rule'));
    const replaced = rules.filter((r) => r.id === 'enabled-services');
    assert.equal(replaced.length, 1);
    assert.equal(replaced[0]?.finding.severity, 'low');
    assert.equal(replaced[0]?.file, path.join(dir, 'enabled-services.yaml'));

    await writeFile(path.join(dir, 'broken.yaml'), minimal('broken').replace('severity: low', 'severity: 3'));
    await assert.rejects(loadKnowledgeRules(dir), new RegExp(`${dir}/broken\\.yaml: /finding/severity`));
    await assert.rejects(loadKnowledgeRules(path.join(dir, 'missing')), /missing: not a readable directory of knowledge rules/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
