// What the yixing-agent packages say, without building them: the spec only uses what EL7's
// rpm reads (xz or gzip payload, no systemd macros, no rich dependencies), the executable
// goes in unstripped, releases must order, and the EL7 requirement check refuses what EL7
// lacks (the package tests run it on the real RPMs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { el7RequireProblems } from '../../infra/agent/el7-requires.ts';
import {
  debControl,
  debFileName,
  debMaintainerScripts,
  type PackageMeta,
  releaseProblem,
  rpmFileName,
  rpmScriptlets,
  rpmSpec,
} from '../../infra/agent/package-files.ts';

const meta: PackageMeta = { version: '0.1.0', release: '3', commit: 'abc', arch: 'arm64', compression: 'xz' };

test('the spec: an xz or gzip payload, the executable unstripped, no target-distro macros, config kept', () => {
  const spec = rpmSpec(meta);
  assert.match(spec, /^%define _binary_payload w6\.xzdio$/m);
  assert.match(rpmSpec({ ...meta, compression: 'gzip' }), /^%define _binary_payload w9\.gzdio$/m);
  assert.doesNotMatch(spec, /zstd/);
  assert.doesNotMatch(spec, /%\{\?systemd/);
  assert.match(spec, /^%define __os_install_post %\{nil\}$/m);
  // Byte-stable: file times and the build time from SOURCE_DATE_EPOCH (rpm's exact macro names).
  assert.match(spec, /^%define clamp_mtime_to_source_date_epoch 1$/m);
  assert.match(spec, /^%define use_source_date_epoch_as_buildtime 1$/m);
  assert.match(spec, /^Version: 0\.1\.0$/m);
  assert.match(spec, /^Release: 3$/m);
  assert.match(spec, /^%config\(noreplace\) %attr\(0600,root,root\) \/etc\/yixing\/agent\.env$/m);
  assert.match(spec, /^%dir %attr\(0700,root,root\) \/var\/lib\/yixing$/m);
  assert.doesNotMatch(spec, /^(Requires|Recommends|Suggests|Supplements):/m);
  assert.equal(rpmFileName(meta), 'yixing-agent-0.1.0-3.aarch64.rpm');
  assert.equal(debFileName(meta), 'yixing-agent_0.1.0-3_arm64.deb');
  assert.match(debControl(meta, 10), /^Version: 0\.1\.0-3\nArchitecture: arm64$/m);
});

test('no scriptlet enables or starts the unit, nor uses systemctl options EL7 lacks', () => {
  const all = [...Object.values(rpmScriptlets()), ...Object.values(debMaintainerScripts())].join('\n');
  assert.doesNotMatch(all, /systemctl[^\n]*\b(enable|start|preset)\b/);
  assert.doesNotMatch(all, /--now/);
  for (const s of Object.values(debMaintainerScripts())) assert.match(s, /^#!\/bin\/sh\nset -e\n/);
});

test('a release must order as a build number in rpm and dpkg alike', () => {
  for (const ok of ['1', '2', '10', '3.1']) assert.equal(releaseProblem(ok), undefined, ok);
  for (const bad of ['', '0', '01', '1a', '2~rc1', '1-2', '1.']) assert.match(releaseProblem(bad) ?? '', /must be a build number/, bad);
});

test('the EL7 check passes glibc up to 2.17, /bin/sh and what the package provides itself, and names anything else', () => {
  assert.deepEqual(
    el7RequireProblems(
      [
        '/bin/sh',
        'libc.so.6()(64bit)',
        'libc.so.6(GLIBC_2.17)(64bit)',
        'ld-linux-aarch64.so.1(GLIBC_2.17)(64bit)',
        'libpthread.so.0(GLIBC_2.2.5)(64bit)',
        'rpmlib(CompressedFileNames) <= 3.0.4-1',
        'rpmlib(PayloadIsXz) <= 5.2-1',
        'config(yixing-agent) = 0.1.0-1',
      ],
      ['config(yixing-agent) = 0.1.0-1', 'yixing-agent = 0.1.0-1'],
    ),
    [],
  );
  assert.deepEqual(
    el7RequireProblems([
      'libc.so.6(GLIBC_2.28)(64bit)',
      'rpmlib(PayloadIsZstd) <= 5.4.18-1',
      'rpmlib(RichDependencies) <= 4.12.0-1',
      '(systemd if systemd-sysv)',
      'libstdc++.so.6()(64bit)',
      '/usr/bin/python3',
      'config(other) = 1-1',
    ]),
    [
      "libc.so.6(GLIBC_2.28)(64bit): newer than EL7's glibc 2.17",
      'rpmlib(PayloadIsZstd) <= 5.4.18-1: rpm 4.11 (EL7) has no PayloadIsZstd',
      'rpmlib(RichDependencies) <= 4.12.0-1: rpm 4.11 (EL7) has no RichDependencies',
      '(systemd if systemd-sysv): a rich dependency, which rpm 4.11 cannot parse',
      'libstdc++.so.6()(64bit): outside what EL7 is sure to have (glibc, /bin/sh)',
      "/usr/bin/python3: a file EL7's base may not have",
      'config(other) = 1-1: outside what EL7 is sure to have (glibc, /bin/sh)',
    ],
  );
});
