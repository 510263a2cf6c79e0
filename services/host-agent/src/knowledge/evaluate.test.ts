import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Profile } from '../profiles/profile.ts';
import { loadProfiles } from '../profiles/profile.ts';
import { dataPath, evaluateRule, evaluateRules, render } from './evaluate.ts';
import type { HostFacts, PackageFact } from './facts.ts';
import { type KnowledgeRule, loadKnowledgeRules, parseRule } from './rule.ts';

let rules: Map<string, KnowledgeRule>;
let debian: Profile;
let centos: Profile;

before(async () => {
  rules = new Map((await loadKnowledgeRules()).map((r) => [r.id, r]));
  const profiles = await loadProfiles();
  debian = profiles.get('debian-11-to-12') as Profile;
  centos = profiles.get('centos-7-to-openeuler-22.03') as Profile;
});

const facts = (f: Partial<HostFacts> = {}): HostFacts => ({
  packages: [],
  files: {},
  modules: null,
  interfaces: [],
  kernelArgs: [],
  services: { enabled: [], running: null },
  repositories: [],
  ...f,
});
const pkg = (name: string, version: string, more: Partial<PackageFact> = {}): PackageFact => ({ name, arch: 'amd64', version, ...more });
const rule = (id: string): KnowledgeRule => rules.get(id) as KnowledgeRule;

test('PostgreSQL: a major the target does not offer is reported per major, naming its cluster and the data path', () => {
  const hit = evaluateRule(
    rule('postgresql-major-not-in-target'),
    facts({
      packages: [
        pkg('postgresql-13', '13.16-0+deb11u1', { fate: 'orphaned' }),
        pkg('postgresql-client-13', '13.16-0+deb11u1', { fate: 'orphaned' }),
        pkg('postgresql-common', '225', { fate: 'upgraded', to: '248' }),
      ],
    }),
    debian,
  );
  assert.ok(hit);
  assert.deepEqual(
    hit.findings.map((f) => f.id),
    ['postgresql-major-not-in-target:postgresql-13'],
  );
  const f = hit.findings[0];
  assert.equal(f?.title, 'PostgreSQL 13 (13.16-0+deb11u1) is not in debian 12 (bookworm): its clusters need pg_upgradecluster');
  assert.match(f?.detail ?? '', /data in \/var\/lib\/postgresql\/13/);
  assert.match(f?.remediation ?? '', /pg_upgradecluster 13 main/);
  assert.equal(f?.severity, 'high');
  assert.deepEqual(hit.dataPaths, ['/var/lib/postgresql']);
});

test('PostgreSQL: a major the target carries, an unclassified package or a dnf migration does not fire', () => {
  const r = rule('postgresql-major-not-in-target');
  assert.equal(evaluateRule(r, facts({ packages: [pkg('postgresql-15', '15.8', { fate: 'upgraded', to: '15.9' })] }), debian), null);
  assert.equal(evaluateRule(r, facts({ packages: [pkg('postgresql-13', '13.16')] }), debian), null, 'no preview: no fate');
  assert.equal(evaluateRule(r, facts({ packages: [pkg('postgresql-13', '13.16', { fate: 'orphaned' })] }), centos), null, 'apt only');
});

test('MySQL/MariaDB: a server whose major changes is reported with both majors and /var/lib/mysql', () => {
  const r = rule('mysql-major-change');
  const hit = evaluateRule(
    r,
    facts({ packages: [pkg('mariadb-server', '1:5.5.68-1.el7', { arch: 'x86_64', fate: 'upgraded', to: '3:10.5.16-1.oe2203' })] }),
    centos,
  );
  assert.ok(hit);
  assert.equal(hit.findings.length, 1);
  assert.match(hit.findings[0]?.title ?? '', /^the mariadb server changes major version \(mariadb-server 1:5\.5\.68-1\.el7\)/);
  assert.match(hit.findings[0]?.detail ?? '', /becomes 3:10\.5\.16-1\.oe2203 \(upgraded\)/);
  assert.match(hit.findings[0]?.remediation ?? '', /mariadb-upgrade/);
  assert.deepEqual(hit.dataPaths, ['/var/lib/mysql']);
  // Debian's versioned server package that the target replaces.
  const deb = evaluateRule(r, facts({ packages: [pkg('mariadb-server-10.5', '1:10.5.26-0+deb11u2', { fate: 'replaced' })] }), debian);
  assert.ok(deb);
  assert.match(deb.findings[0]?.title ?? '', /mariadb-server-10\.5/);
});

test('MySQL/MariaDB: a minor upgrade within the major, or client packages only, do not fire', () => {
  const r = rule('mysql-major-change');
  assert.equal(
    evaluateRule(r, facts({ packages: [pkg('mariadb-server', '1:10.5.16-1', { fate: 'upgraded', to: '1:10.5.22-1' })] }), centos),
    null,
  );
  assert.equal(evaluateRule(r, facts({ packages: [pkg('mariadb-client-10.5', '1:10.5.26', { fate: 'orphaned' })] }), debian), null);
});

test('Python 2: packages without a target build and python2 scripts fire on CentOS 7 to openEuler only', () => {
  const pyFacts = facts({
    packages: [
      pkg('python', '2.7.5-90.el7', { fate: 'orphaned' }),
      pkg('python-libs', '2.7.5-90.el7', { fate: 'orphaned' }),
      pkg('python3', '3.6.8-21.el7', { fate: 'upgraded', to: '3.9.9-1.oe2203' }),
      pkg('python-six', '1.9.0-2.el7', { fate: 'replaced' }),
    ],
    files: {
      '/usr/local/{bin,sbin}/*': [
        { path: '/usr/local/bin/report', type: 'file', text: '#!/usr/bin/python\nprint "hello"\n' },
        { path: '/usr/local/bin/new', type: 'file', text: '#!/usr/bin/python3\nprint("hello")\n' },
        { path: '/usr/local/bin/tool', type: 'file', text: '#!/usr/bin/env python2\n' },
      ],
    },
  });
  const pkgs = evaluateRule(rule('python2-removed'), pyFacts, centos);
  assert.ok(pkgs);
  assert.match(
    pkgs.findings[0]?.title ?? '',
    /^Python 2 is not in openEuler 22\.03 .*: 2 installed Python 2 package\(s\) \(python 2\.7\.5-90\.el7, python-libs/,
  );
  const scripts = evaluateRule(rule('python2-scripts'), pyFacts, centos);
  assert.ok(scripts);
  assert.match(
    scripts.findings[0]?.title ?? '',
    /^2 local script\(s\) run on Python 2.*: \/usr\/local\/bin\/report, \/usr\/local\/bin\/tool$/,
  );
  assert.match(scripts.findings[0]?.detail ?? '', /`#!\/usr\/bin\/python`/);
  assert.equal(evaluateRule(rule('python2-removed'), pyFacts, debian), null);
  assert.equal(
    evaluateRule(
      rule('python2-scripts'),
      facts({ files: { '/usr/local/{bin,sbin}/*': [pyFacts.files['/usr/local/{bin,sbin}/*']![1]!] } }),
      centos,
    ),
    null,
  );
});

test("kernel modules: a loaded module in the profile's removedModules fires; unknown modules (a chroot) do not", () => {
  const r = rule('kernel-modules-dropped');
  const hit = evaluateRule(r, facts({ modules: ['ext4', 'floppy', 'virtio_net'] }), centos);
  assert.equal(hit?.findings[0]?.title, 'loaded kernel modules the target kernel does not ship: floppy');
  assert.equal(hit?.findings[0]?.id, 'kernel-modules-dropped');
  assert.equal(evaluateRule(r, facts({ modules: ['ext4', 'virtio_net'] }), centos), null);
  assert.equal(evaluateRule(r, facts({ modules: null }), centos), null);
});

test('interface names: eth* in the configuration fires unless net.ifnames=0 or a udev rule pins the names', () => {
  const r = rule('network-interface-names');
  const eth = { interfaces: [{ name: 'eth0', file: '/etc/sysconfig/network-scripts/ifcfg-eth0' }] };
  const hit = evaluateRule(r, facts(eth), centos);
  assert.match(hit?.findings[0]?.title ?? '', /kernel interface names \(eth0 \(\/etc\/sysconfig\/network-scripts\/ifcfg-eth0\)\)/);
  assert.match(hit?.findings[0]?.remediation ?? '', /net_id \/sys\/class\/net\/eth0/);
  assert.equal(evaluateRule(r, facts({ ...eth, kernelArgs: ['ro', 'net.ifnames=0'] }), centos), null);
  assert.ok(evaluateRule(r, facts({ ...eth, kernelArgs: ['net.ifnames=1'] }), centos));
  const pinned = {
    '/etc/udev/rules.d/*.rules': [
      { path: '/etc/udev/rules.d/70-persistent-net.rules', type: 'file' as const, text: 'SUBSYSTEM=="net", NAME="eth0"\n' },
    ],
  };
  assert.equal(evaluateRule(r, facts({ ...eth, files: pinned }), centos), null);
  assert.equal(evaluateRule(r, facts({ interfaces: [{ name: 'ens3', file: '/etc/network/interfaces' }] }), debian), null);
});

test('third-party repositories: EPEL the profile does not know fires per repository on a dnf migration', () => {
  const r = rule('third-party-repository-without-target');
  const epel = {
    uri: 'https://download.fedoraproject.org/pub/EPEL/7/$basearch',
    file: '/etc/yum.repos.d/epel.repo',
    enabled: true,
    known: false,
  };
  const hit = evaluateRule(r, facts({ repositories: [epel] }), centos);
  assert.equal(hit?.findings[0]?.id, `third-party-repository-without-target:${epel.uri}`);
  assert.match(hit?.findings[0]?.title ?? '', /^EPEL \(https:.*\) has no equivalent for openEuler 22\.03/);
  assert.equal(evaluateRule(r, facts({ repositories: [{ ...epel, known: true }] }), centos), null);
  assert.equal(
    evaluateRule(r, facts({ repositories: [{ ...epel, uri: 'https://vault.centos.org/7.9.2009/os/x86_64/', known: false }] }), centos),
    null,
  );
});

test('enabled services are listed in one finding; none enabled, no finding', () => {
  const r = rule('enabled-services');
  const hit = evaluateRule(r, facts({ services: { enabled: ['cron', 'postgresql', 'ssh'], running: null } }), debian);
  assert.equal(hit?.findings[0]?.title, '3 service(s) enabled: cron, postgresql, ssh');
  assert.equal(hit?.findings[0]?.severity, 'info');
  assert.equal(evaluateRule(r, facts(), debian), null);
});

test('the shipped rules fire on nothing when the facts hold nothing to worry about', () => {
  const clean = facts({
    packages: [pkg('base-files', '11.1', { fate: 'upgraded', to: '12.4' }), pkg('python3', '3.9.2', { fate: 'upgraded', to: '3.11.2' })],
    kernelArgs: ['ro', 'quiet'],
  });
  for (const p of [debian, centos]) assert.deepEqual(evaluateRules([...rules.values()], clean, p), []);
});

test('each: one finding per match with its values; items list many matches with a count of the rest', () => {
  const r = parseRule(
    [
      'id: many',
      'description: d',
      'each: false',
      'match: [{ package: { name: "^lib(?<n>[0-9]+)$" } }]',
      'finding: { severity: low, title: "{{count}}: {{items}}", remediation: "r {{n}}" }',
      'dataPaths: ["/srv/lib{{n}}", "/srv/../etc", "/srv/lib{{n}}/"]',
    ].join('\n'),
    'many.yaml',
  );
  const many = facts({ packages: Array.from({ length: 25 }, (_, i) => pkg(`lib${i}`, '1')) });
  const hit = evaluateRule(r, many, debian);
  assert.match(hit?.findings[0]?.title ?? '', /^25: lib0 1, lib1 1, .*lib19 1 and 5 more$/);
  assert.equal(hit?.findings[0]?.remediation, 'r 0', 'a rule over all matches takes the values of the first');
  assert.equal(hit?.dataPaths.length, 25, 'data paths per match, normalized and deduplicated');
  assert.deepEqual(hit?.badDataPaths, ['/srv/../etc']);
  const each = evaluateRule({ ...r, each: true }, many, debian);
  assert.equal(each?.findings.length, 25);
  assert.deepEqual(
    each?.findings.slice(0, 2).map((f) => [f.id, f.title, f.remediation]),
    [
      ['many:lib0', '1: lib0 1', 'r 0'],
      ['many:lib1', '1: lib1 1', 'r 1'],
    ],
  );
});

test('applies: by profile, source release and driver', () => {
  const base = parseRule(
    'id: a\ndescription: d\nmatch: [{ service: { name: x } }]\nfinding: { severity: low, title: t, remediation: r }',
    'a.yaml',
  );
  const x = facts({ services: { enabled: ['x'], running: null } });
  assert.ok(evaluateRule(base, x, debian));
  assert.equal(evaluateRule({ ...base, applies: { profiles: ['other'], sources: [], drivers: [] } }, x, debian), null);
  assert.ok(evaluateRule({ ...base, applies: { profiles: [], sources: ['debian:11'], drivers: [] } }, x, debian));
  assert.equal(evaluateRule({ ...base, applies: { profiles: [], sources: ['debian:10'], drivers: [] } }, x, debian), null);
  assert.ok(evaluateRule({ ...base, applies: { profiles: [], sources: ['centos'], drivers: ['dnf'] } }, x, centos));
  assert.equal(evaluateRule({ ...base, applies: { profiles: [], sources: [], drivers: ['dnf'] } }, x, debian), null);
  assert.ok(
    evaluateRule(
      { ...base, match: [{ service: { name: 'x', state: 'running' } }] },
      facts({ services: { enabled: [], running: ['x'] } }),
      debian,
    ),
  );
});

test('templates and data paths', () => {
  assert.equal(render('{{a}}-{{ b }}-{{c}}', { a: '1', b: '2' }), '1-2-');
  assert.equal(dataPath('/var/lib/postgresql/'), '/var/lib/postgresql');
  assert.equal(dataPath('/var//lib'), '/var/lib');
  for (const bad of ['/', 'var/lib', '/var/lib/../../etc', '/./x', '']) assert.equal(dataPath(bad), null, bad);
});
