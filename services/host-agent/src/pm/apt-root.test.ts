import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedPath, filteredOut, parseDiversions, parseDpkgStates, parsePathFilters, unsettled } from './apt-root.ts';

test("dpkg-query's lines become package states, with the source package and dpkg's status", () => {
  const states = parseDpkgStates(
    [
      'ii \tinstall\tlibc6\tamd64\t2.31-13\tglibc',
      'hi \thold\tgzip\tamd64\t1.10-4\tgzip',
      'iU \tinstall\tcron\tamd64\t3.0pl1-137\tcron',
      'iHR\tinstall\tlibc-bin\tamd64\t2.31-13\tglibc',
      'rc \tdeinstall\told\tamd64\t1.0\t',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    states.map((s) => [s.name, s.source, s.status, s.held, s.reinstRequired]),
    [
      ['libc6', 'glibc', 'i', false, false],
      ['gzip', 'gzip', 'i', true, false],
      ['cron', 'cron', 'U', false, false],
      ['libc-bin', 'glibc', 'H', false, true],
      ['old', 'old', 'c', false, false],
    ],
  );
  assert.deepEqual(
    unsettled(states).map((s) => s.name),
    ['cron', 'libc-bin'],
    'unpacked and half-installed are unfinished; installed and config-files are not',
  );
  const triggers = parseDpkgStates('it \tinstall\tpostgresql-common\tall\t225\tpostgresql-common\n');
  assert.deepEqual(
    unsettled(triggers).map((s) => s.name),
    ['postgresql-common'],
    'pending triggers are unfinished',
  );
});

test("dpkg's path filters: the last matching one decides, and * crosses /", () => {
  const filters = parsePathFilters([
    '# docs out\npath-exclude=/usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n',
    'path-exclude=/usr/share/locale/??/*\n',
  ]);
  assert.equal(filteredOut(filters, '/usr/share/doc/bash/README.gz'), true);
  assert.equal(filteredOut(filters, '/usr/share/doc/bash/examples/x/y'), true);
  assert.equal(filteredOut(filters, '/usr/share/doc/bash/copyright'), false);
  assert.equal(filteredOut(filters, '/usr/share/locale/de/LC_MESSAGES/bash.mo'), true);
  assert.equal(filteredOut(filters, '/usr/share/locale/de_AT/LC_MESSAGES/bash.mo'), false);
  assert.equal(filteredOut(filters, '/usr/bin/bash'), false);
  assert.equal(filteredOut(parsePathFilters(['path-exclude=/opt/[!a]x.+\n']), '/opt/bx.+'), true, 'classes and regex characters');
});

test("a package's file is expected where dpkg puts it: diverted by another package, filtered out, or under /etc", () => {
  const diversions = parseDiversions(
    '/bin/sh\n/bin/sh.distrib\ndash\n/usr/bin/pg_config\n/usr/bin/pg_config.libpq-dev\npostgresql-common\n',
  );
  assert.deepEqual([...diversions.keys()], ['/bin/sh', '/usr/bin/pg_config']);
  const filters = parsePathFilters(['path-exclude=/usr/share/man/*\n']);
  assert.equal(expectedPath('usr/bin/pg_config', 'libpq-dev', diversions, filters), '/usr/bin/pg_config.libpq-dev');
  assert.equal(expectedPath('bin/sh', 'dash', diversions, filters), '/bin/sh', "the diverting package's own file stays");
  assert.equal(expectedPath('usr/share/man/man8/nginx.8.gz', 'nginx-core', diversions, filters), null);
  assert.equal(expectedPath('etc/nginx/nginx.conf', 'nginx-common', diversions, filters), null);
  assert.equal(expectedPath('usr/sbin/nginx', 'nginx-core', diversions, filters), '/usr/sbin/nginx');
});
