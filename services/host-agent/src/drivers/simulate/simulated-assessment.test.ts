import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AssessmentReport } from '../../assessment/assessment.ts';
import { stepContext } from '../step-context.testing.ts';
import { SimulateDriver } from './simulate.driver.ts';
import { parseSimulateConfig } from './simulate-config.ts';
import { plantedFindings, plantedPreview, plantedRoles, type SimulatedAssessmentReport } from './simulated-assessment.ts';

const held = { id: 'held-packages', severity: 'high', inhibitor: true, title: '2 held packages', remediation: 'apt-mark unhold' };
const config = JSON.stringify({
  seed: 's',
  durations: { precheck: 0 },
  findings: [
    { hosts: ['bad'], finding: held },
    { rate: 0.2, finding: { id: 'eol-kernel-module', severity: 'medium', title: 'an out-of-tree module' } },
  ],
  previews: [{ hosts: ['big'], downloadBytes: 5_000_000_000, upgrades: [1000, 1200] }, { installs: 7 }],
  roles: [
    { role: 'containers', rate: 0.25 },
    { role: 'hdfs-datanode', hosts: ['big'] },
  ],
  target: { id: 'debian', version: '12' },
});

test('a rehearsal config plants findings, preview sizes and roles: by host, by rate, the same every time', () => {
  const opts = parseSimulateConfig(config);
  assert.deepEqual(plantedFindings(opts, 'bad')[0], { ...held, detail: '' });
  const warned = Array.from({ length: 4000 }, (_, i) => plantedFindings(opts, `h${i}`).length).filter((n) => n > 0).length;
  assert.ok(warned > 700 && warned < 900, `${warned} of 4000 warned at rate 0.2`);
  assert.deepEqual(plantedFindings(opts, 'h1'), plantedFindings(opts, 'h1'), 'deterministic');

  const big = plantedPreview(opts, 'big');
  assert.equal(big.downloadBytes, 5_000_000_000);
  assert.ok(big.upgrades >= 1000 && big.upgrades <= 1200);
  assert.equal(big.installs, 7, 'a field a rule does not size comes from the next matching rule');
  const small = plantedPreview(opts, 'small');
  assert.ok(small.downloadBytes >= 50 * 2 ** 20 && small.downloadBytes <= 400 * 2 ** 20, 'else from the defaults');
  assert.deepEqual(plantedPreview(opts, 'small'), small, 'deterministic');

  assert.deepEqual(
    plantedRoles(opts, 'big', ['web']).filter((r) => r !== 'containers'),
    ['hdfs-datanode', 'web'],
  );
  const containers = Array.from({ length: 4000 }, (_, i) => plantedRoles(opts, `h${i}`)).filter((r) => r.includes('containers')).length;
  assert.ok(containers > 900 && containers < 1100, `${containers} of 4000 run containers at rate 0.25`);
});

test('the simulated precheck reports in the real assessment shape and fails on a planted inhibitor', async () => {
  const opts = parseSimulateConfig(config);
  const facts = { source: { id: 'debian', versionId: '11', arch: 'x86_64' }, roles: ['containers'], factsDigest: 'f'.repeat(64) };
  const driver = new SimulateDriver(opts, undefined, () => facts);
  const run = (hostId: string) => driver.run(stepContext({ hostId, runId: 'r1', step: 'precheck', profile: 'debian-11-to-12' }));

  const inhibited = await run('bad');
  assert.equal(inhibited.ok, false);
  assert.equal(!inhibited.ok && inhibited.code, 'PRECHECK_INHIBITED');
  assert.equal(!inhibited.ok && inhibited.message, '1 inhibitor(s): held-packages; nothing was changed');
  const bad = inhibited.report as SimulatedAssessmentReport;
  assert.equal(bad.inhibitors, 1);
  assert.deepEqual(bad.target, { id: 'debian', version: '12' });
  assert.deepEqual([bad.source, bad.roles, bad.factsDigest], [facts.source, facts.roles, facts.factsDigest]);

  const ready = await run('big');
  assert.equal(ready.ok, true);
  const report = ready.report as SimulatedAssessmentReport;
  assert.equal(report.inhibitors, 0);
  assert.equal(report.preview?.downloadBytes, 5_000_000_000);
  assert.match(report.summary, /^ready: 1\d{3} upgrades, 7 new packages, 4768 MiB to download; \d finding\(s\), none blocking$/);
  // Every field of the real report is there (the pool report reads them alike).
  const real = [
    'profile',
    'root',
    'at',
    'source',
    'target',
    'findings',
    'inhibitors',
    'preview',
    'runningServices',
    'packages',
    'rollback',
    'dataPaths',
    'notBackedUp',
    'enabledServices',
    'summary',
  ] satisfies (keyof AssessmentReport)[];
  for (const key of real) assert.ok(key in report, `the report has ${key}`);
  assert.deepEqual(Object.keys(report.preview ?? {}).sort(), [
    'changes',
    'downloadBytes',
    'error',
    'installBytes',
    'installs',
    'reachable',
    'removals',
    'upgrades',
  ]);
  assert.equal(JSON.parse(JSON.stringify(report)).rollback.chosen, 'snapshot');
});

test('bad planted findings, previews and roles are refused with the field named', () => {
  const bad = (o: unknown) => () => parseSimulateConfig(JSON.stringify(o));
  assert.throws(
    bad({ findings: [{ finding: { ...held, severity: 'fatal' } }] }),
    /\.findings\[0\]\.finding\.severity: must be one of info, low, medium, high/,
  );
  assert.throws(bad({ findings: [{ finding: { ...held, title: '' } }] }), /\.findings\[0\]\.finding\.title: must be a non-empty string/);
  assert.throws(
    bad({ findings: [{ finding: { ...held, id: 'held packages' } }] }),
    /\.findings\[0\]\.finding\.id: "held packages" must not contain spaces/,
  );
  assert.throws(bad({ findings: [{ rate: 3, finding: held }] }), /\.findings\[0\]\.rate: must be a number from 0 to 1/);
  assert.throws(bad({ findings: [{ finding: { ...held, colour: 1 } }] }), /\.findings\[0\]\.finding\.colour: unknown field/);
  assert.throws(bad({ findings: {} }), /\.findings: must be a list/);
  assert.throws(bad({ previews: [{ downloadBytes: -1 }] }), /\.previews\[0\]\.downloadBytes: must be a whole number/);
  assert.throws(bad({ previews: [{ upgrades: [9, 1] }] }), /\.previews\[0\]\.upgrades: min 9 is above max 1/);
  assert.throws(bad({ previews: [{ sizes: 1 }] }), /\.previews\[0\]\.sizes: unknown field/);
  assert.throws(bad({ roles: [{ role: 'Containers' }] }), /\.roles\[0\]\.role: "Containers" does not match/);
  assert.throws(bad({ roles: [{ role: 'containers', hosts: 'h1' }] }), /\.roles\[0\]\.hosts: must be a list of host ids/);
  assert.throws(bad({ target: { id: 'debian' } }), /\.target\.version: must be a non-empty string/);
});
