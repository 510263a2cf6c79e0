// The package managers' phases read from their real progress output (testdata: a dnf
// distro-sync of the dnf OS test, as its step log stamped it; Debian's apt-get installing
// chromium), and made spans under the step's through a fake command.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startSpan } from '@yixing/common';
import { type RecordedSpans, recordSpans } from '@yixing/common/internal';
import { classifyAptLine, classifyDnfLine, commandLabel, PhaseReader, type PhaseSpan, sizeBytes, withPhaseSpans } from './pm-phases.ts';

const testdata = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

/** Feeds `lines` ([epoch ms, text]) to a reader whose clock is each line's time; the command exits at `exitAt`. */
function read(tool: 'apt' | 'dnf', argv: string[], lines: [number, string][], exitAt: number, failure?: string): PhaseSpan[] {
  let now = 0;
  const reader = new PhaseReader(tool, argv, () => now);
  for (const [at, text] of lines) {
    now = at;
    reader.line(text);
  }
  now = exitAt;
  return reader.spans(failure);
}

const byName = (spans: PhaseSpan[]) => Object.fromEntries(spans.map((s) => [s.name.replace('pm ', ''), s]));

describe('phases of real package manager output', () => {
  it('dnf distro-sync: nothing to download, the transaction, and its scriptlets between the package operations', () => {
    const lines = testdata('dnf-distro-sync-progress.txt')
      .split('\n')
      .filter(Boolean)
      .map((l): [number, string] => [Date.parse(l.slice(0, 24)), l.slice(25)]);
    const t = (hms: string) => Date.parse(`2026-12-06T06:52:${hms}Z`);
    const spans = byName(read('dnf', ['dnf', '--installroot=/r', '-y', '--allowerasing', 'distro-sync'], lines, t('40.750')));
    // "Downloading Packages:" came with "Running transaction check": a local repository, nothing fetched.
    assert.deepEqual([spans.download?.start, spans.download?.end], [t('39.809'), t('39.809')]);
    assert.equal(spans.download?.attributes['yx.pm.packages'], 0);
    assert.deepEqual([spans.transaction?.start, spans.transaction?.end], [t('39.809'), t('40.750')]);
    assert.deepEqual(spans.transaction?.attributes, {
      'yx.pm.tool': 'dnf',
      'yx.pm.command': 'distro-sync',
      'yx.pm.packages': 7,
      'yx.pm.removals': 0,
      'yx.pm.scripts': 8,
    });
    // From bash's scriptlet to the cleanup after the last one (bash-4.2's %postun); the
    // scriptlets themselves: 19 + 20 + 9 + 1 + 9 + 4 + 5 + 57 ms.
    assert.deepEqual([spans.scripts?.start, spans.scripts?.end], [t('40.325'), t('40.580')]);
    assert.equal(spans.scripts?.attributes['yx.pm.scripts_ms'], 124);
    assert.equal(spans.scripts?.underTransaction, true);
    assert.ok(Object.values(spans).every((s) => s.failure === undefined));
  });

  it('apt-get install: the download with its bytes, dpkg unpacking, then configuring and triggers', () => {
    const lines = testdata('apt-install-progress.txt')
      .split('\n')
      .filter(Boolean)
      .map((l, i): [number, string] => [(i + 1) * 10, l]);
    const spans = byName(read('apt', ['apt-get', '-y', '-o', 'Dpkg::Use-Pty=0', 'install', '--', 'chromium'], lines, 1700));
    assert.deepEqual([spans.download?.start, spans.download?.end], [260, 520], 'from Get:1 to the first dpkg line');
    assert.deepEqual(spans.download?.attributes, {
      'yx.pm.tool': 'apt',
      'yx.pm.command': 'install',
      'yx.pm.packages': 25,
      'yx.pm.bytes': 124e6,
    });
    assert.deepEqual([spans.transaction?.start, spans.transaction?.end], [520, 1700]);
    assert.equal(spans.transaction?.attributes['yx.pm.packages'], 25);
    assert.deepEqual([spans.scripts?.start, spans.scripts?.end], [1280, 1700], 'from the first "Setting up" to the exit');
    assert.equal(spans.scripts?.attributes['yx.pm.scripts'], 30);
  });

  it('a failed transaction marks the phase it stopped in; dnf download sizes are powers of 1024', () => {
    const dnfDownload = [
      'Downloading Packages:',
      '(1/3): newdep-1.0-1.oe2203.noarch.rpm           1.2 MB/s | 6.2 kB     00:00    ',
      '(2/3): bash-5.1.8-6.oe2203.x86_64.rpm            12 MB/s | 600 kB     00:00    ',
      '(3/3): glibc-2.34-70.oe2203.x86_64.rpm           20 MB/s | 2.0 MB     00:00    ',
      '--------------------------------------------------------------------------------',
      'Total                                            18 MB/s | 2.6 MB     00:00     ',
      'Running transaction check',
      'Transaction check succeeded.',
      'Running transaction test',
      'Error: Transaction test error:',
    ].map((l, i): [number, string] => [i * 100, l]);
    const spans = byName(read('dnf', ['dnf', '-y', 'distro-sync'], dnfDownload, 1000, 'dnf exited with 1'));
    assert.deepEqual(spans.download?.attributes, {
      'yx.pm.tool': 'dnf',
      'yx.pm.command': 'distro-sync',
      'yx.pm.packages': 3,
      'yx.pm.bytes': Math.round(2.6 * 1024 ** 2),
    });
    assert.equal(spans.download?.end, 600);
    assert.equal(spans.download?.failure, undefined);
    assert.equal(spans.transaction?.failure, 'dnf exited with 1');
    assert.equal(spans.scripts, undefined, 'no scriptlet ran: no scripts span');
  });

  it('lines, sizes and command names', () => {
    assert.equal(sizeBytes('41.5 kB', 'si'), 41_500);
    assert.equal(sizeBytes('8640 B', 'si'), 8640);
    assert.equal(sizeBytes('1.5 M', 'binary'), 1.5 * 1024 ** 2);
    assert.equal(sizeBytes('lots', 'si'), undefined);
    assert.deepEqual(classifyAptLine('Get:3 http://m/debian bookworm/main amd64 libflac12 amd64 1.4.2+ds-2 [198 kB]'), {
      phase: 'download',
      counts: 'package',
      bytes: { n: 198_000, of: 'item' },
    });
    assert.deepEqual(classifyAptLine('Removing old-tool (1.0) ...'), { phase: 'transaction', counts: 'removal' });
    assert.equal(classifyAptLine('update-alternatives: using /usr/bin/chromium'), undefined);
    assert.deepEqual(classifyDnfLine('  Erasing          : victim-1.0-1.el7.noarch      3/3 '), {
      phase: 'transaction',
      counts: 'removal',
    });
    assert.equal(classifyDnfLine(' bash   x86_64   5.1.8-6.oe2203   openeuler-os   600 k'), undefined, 'the plan table is not progress');
    assert.equal(commandLabel('apt', ['apt-get', '-y', '-o', 'APT::Update::Error-Mode=any', 'update']), 'update');
    assert.equal(commandLabel('dpkg', ['dpkg', '--force-confdef', '--install', '--', 'a.deb']), 'install');
    assert.equal(commandLabel('dnf', ['dnf', '--installroot=/r', '-y', 'shell', '/tmp/x.dnf']), 'shell');
  });
});

describe('withPhaseSpans', () => {
  let rec: RecordedSpans;
  before(() => {
    rec = recordSpans();
  });
  after(() => rec.stop());

  it("a command's phases are spans under the step's, the scripts under the transaction; a failure marks where it stopped", async () => {
    const logged: string[] = [];
    const step = startSpan('step upgrade', { parent: '' });
    // A fake command: prints apt's lines, then fails in a maintainer script.
    const fake = async (onLine: (line: string, source: 'stdout' | 'stderr') => void): Promise<void> => {
      for (const l of [
        'Get:1 http://m/debian bookworm/main amd64 base-files amd64 12.4 [70.0 kB]',
        'Fetched 70.0 kB in 0s (1 MB/s)',
        'Preparing to unpack .../base-files_12.4_amd64.deb ...',
        'Unpacking base-files (12.4) over (11.1) ...',
        'Setting up base-files (12.4) ...',
      ])
        onLine(l, 'stdout');
      onLine('dpkg: error processing package base-files (--configure):', 'stderr');
      throw new Error('apt-get exited with 100');
    };
    await assert.rejects(
      step.run(() => withPhaseSpans('apt', ['apt-get', 'full-upgrade'], (l) => logged.push(l), fake)),
      /exited with 100/,
    );
    step.end();
    assert.equal(logged.length, 6, 'every line still reaches the step log');
    const [stepSpan] = rec.named('step upgrade');
    const [download] = rec.named('pm download');
    const [transaction] = rec.named('pm transaction');
    const [scripts] = rec.named('pm scripts');
    assert.ok(stepSpan && download && transaction && scripts);
    assert.equal(download.parentSpanContext?.spanId, stepSpan.spanContext().spanId);
    assert.equal(transaction.parentSpanContext?.spanId, stepSpan.spanContext().spanId);
    assert.equal(scripts.parentSpanContext?.spanId, transaction.spanContext().spanId);
    assert.equal(download.attributes['yx.pm.bytes'], 70_000);
    assert.equal(download.status.code, 0);
    assert.equal(scripts.status.message, 'apt-get exited with 100');
    assert.equal(transaction.status.message, 'apt-get exited with 100');
  });
});
