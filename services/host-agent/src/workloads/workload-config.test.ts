import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkProfile } from '../profiles/profile.ts';
import { declaredRoles, effectiveHooks, parseWorkloadHooks, WorkloadConfigError } from './workload-config.ts';
import { applicableHooks, undrainOrder } from './workload-steps.ts';

test('a site file gets the defaults of each role it declares', () => {
  const h = parseWorkloadHooks('containers: {}\nlibvirt: {mode: shutdown}\n', 'site.yaml');
  assert.deepEqual(h.containers, { runtime: ['podman'], labels: {}, stopTimeoutSeconds: 30, settleSeconds: 10 });
  assert.deepEqual(h.libvirt, { mode: 'shutdown', virsh: ['virsh'], connect: 'qemu:///system', shutdownTimeoutSeconds: 300 });
  assert.deepEqual(declaredRoles(h), ['libvirt', 'containers'], 'guests before containers; undrain the other way');
});

test('bad hook data is refused with the file and the field named', () => {
  const bad: [string, RegExp][] = [
    ['containers: {stopTimeout: 3}', /site\.yaml: \/containers\/stopTimeout is not a known field/],
    ['containers: {runtime: "podman stop -a"}', /site\.yaml: \/containers\/runtime must be array/],
    ['containers: {settleSeconds: -1}', /site\.yaml: \/containers\/settleSeconds must be >= 0/],
    ['libvirt: {}', /site\.yaml: \/libvirt\/mode is required/],
    ['libvirt: {mode: suspend}', /site\.yaml: \/libvirt\/mode must be equal to one of the allowed values/],
    ['libvirt: {mode: migrate}', /site\.yaml: \/libvirt mode migrate needs peer .* and returnUri/],
    ['kubernetes-node: {kubeconfig: relative/path}', /site\.yaml: \/kubernetes-node\/kubeconfig must match pattern/],
    ['hdfs-datanode: {mode: maintenance}', /site\.yaml: \/hdfs-datanode\/hostsFile is required/],
    ['docker: {}', /site\.yaml: \(top\)\/docker is not a known field/],
    ['containers: [', /site\.yaml: not valid YAML/],
  ];
  for (const [text, want] of bad) {
    assert.throws(
      () => parseWorkloadHooks(text, 'site.yaml'),
      (e: unknown) => e instanceof WorkloadConfigError && want.test(e.message),
      text,
    );
  }
});

test('a profile may declare hooks; the site file replaces them per role', () => {
  const base = {
    name: 'p',
    description: 'd',
    source: { id: 'debian', versions: ['11'] },
    target: { id: 'debian', version: '12' },
    driver: 'apt',
    apt: {
      repositories: [{ uri: 'http://x/', suites: ['a'], components: ['b'] }],
      sourceRepositories: [{ uri: 'http://x/', suites: ['a'], components: ['b'] }],
    },
  };
  const p = checkProfile({ ...base, workloads: { containers: { settleSeconds: 5 }, 'kubernetes-node': {} } }, 'p.yaml');
  assert.equal(p.workloads?.containers?.settleSeconds, 5);
  assert.throws(
    () => checkProfile({ ...base, workloads: { containers: { settle: 5 } } }, 'p.yaml'),
    /p\.yaml: \/workloads\/containers\/settle is not a known field/,
  );
  const site = parseWorkloadHooks('containers: {settleSeconds: 1}', 's');
  assert.equal(effectiveHooks(p.workloads, site).containers?.settleSeconds, 1);
});

test("a profile's hooks apply to the roles detected; a site file's always", () => {
  const profile = parseWorkloadHooks('containers: {}\nkubernetes-node: {}\n', 'p');
  const site = parseWorkloadHooks('libvirt: {mode: shutdown}\n', 's');
  assert.deepEqual(declaredRoles(applicableHooks(profile, site, ['containers'])), ['libvirt', 'containers']);
  assert.deepEqual(declaredRoles(applicableHooks(profile, undefined, [])), []);
  assert.deepEqual(declaredRoles(applicableHooks(profile, undefined, ['kubernetes-node', 'containers'])), [
    'kubernetes-node',
    'containers',
  ]);
});

test('undrain brings roles back in the reverse of the drain order', () => {
  const rec = { role: 'containers' as const, hook: {}, record: {} };
  assert.deepEqual(
    undrainOrder({ containers: rec, 'kubernetes-node': { ...rec, role: 'kubernetes-node' }, libvirt: { ...rec, role: 'libvirt' } }),
    ['containers', 'libvirt', 'kubernetes-node'],
  );
  assert.deepEqual(undrainOrder({}), []);
});
