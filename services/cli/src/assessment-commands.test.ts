// yx plan assessment and yx assessment against a stand-in API: the summary names counts,
// the top inhibitors with their fix and hosts, the download and the estimate; --csv prints
// the API's CSV as it came; --output writes the report to a file; a wrong command line is
// exit 2 with nothing sent. (Against the real API: tests/integration/assessment-api.test.ts.)
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runYx } from '../../../tests/fixtures/cli-io.ts';
import { bytes, duration, type PoolReport } from './assessment-commands.ts';

const MiB = 1024 * 1024;

const report: PoolReport = {
  scope: { kind: 'plan', planId: 'p-1' },
  counts: { hosts: 12, ready: 4, warnings: 1, inhibited: 6, notAssessed: 1, reused: 2, truncated: 3 },
  notAssessed: [{ reason: 'failed', hostCount: 1, hosts: ['h-12'] }],
  inhibitors: [
    {
      kind: 'disk-space',
      severity: 'high',
      title: 'not enough free space for /',
      remediation: 'free space on that filesystem',
      hostCount: 6,
      hosts: ['h-1', 'h-2', 'h-3', 'h-4', 'h-5', 'h-6'],
    },
  ],
  warnings: [
    { kind: 'obsolete-packages', severity: 'medium', title: '3 obsolete packages', remediation: '', hostCount: 1, hosts: ['h-7'] },
  ],
  roles: [{ role: 'podman', hostCount: 3 }],
  totals: { hosts: 5, downloadBytes: 1536 * MiB, installBytes: 300 * MiB, upgrades: 1500, installs: 100 },
  estimate: {
    model: { bytesPerSecond: 20 * MiB, secondsPerPackage: 0.4, fixedSeconds: 180, slots: 2 },
    hosts: 5,
    totalHostSeconds: 2000,
    longestHostSeconds: 500,
    makespanSeconds: 1000,
  },
};

const CSV = 'host,status\r\nh-1,"inhibited, twice"\r\n';

/** A stand-in scheduler: the report as JSON, or CSV when asked; an unknown plan is a 404. */
async function api(): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    const url = new URL(req.url ?? '', 'http://x');
    if (url.pathname === '/v1/plans/p-missing/assessment') {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no plan p-missing', retryable: false } }));
      return;
    }
    if (url.searchParams.get('format') === 'csv') {
      res.setHeader('content-type', 'text/csv');
      res.end(CSV);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(url.pathname === '/v1/assessment' ? { ...report, scope: { kind: 'fleet' } } : report));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

test('the summary: counts, the top inhibitors with their fix and hosts, the download and the estimate', async () => {
  const { url, paths } = await api();
  const res = await runYx(url, ['plan', 'assessment', 'p-1']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(paths, ['/v1/plans/p-1/assessment?view=overview']);
  const lines = res.stdout.split('\n');
  assert.equal(
    lines[0],
    'plan p-1: 12 hosts: 4 ready, 1 with warnings, 6 inhibited, 1 not assessed (2 by an earlier assessment, their facts unchanged)',
  );
  assert.equal(lines[1], 'not assessed: 1 failed');
  assert.equal(lines[2], '3 reports were cut short when stored: read up to the cut, their roles may be missing');
  assert.deepEqual(lines.slice(3, 7), [
    'inhibitors:',
    '  disk-space  6 hosts  high  not enough free space for /',
    '      fix: free space on that filesystem',
    '      h-1, h-2, h-3, h-4, h-5 (+1 more)',
  ]);
  assert.match(res.stdout, /^ {2}obsolete-packages {2}1 host {2}medium {2}3 obsolete packages$/m);
  assert.match(res.stdout, /^roles: podman 3$/m);
  assert.match(
    res.stdout,
    /^download: 1\.5 GiB for the 5 hosts that could migrate now \(1500 upgrades, 100 new packages\); installed size \+300\.0 MiB$/m,
  );
  assert.match(
    res.stdout,
    /^estimate: 16m with 2 hosts at a time \(longest host 8m; model: 20\.0 MiB\/s, 0\.4 s a package, 180 s a host\)$/m,
  );
});

test('--csv prints the CSV as the API wrote it; --json the report; the fleet takes label filters and --slots', async () => {
  const { url, paths } = await api();
  const csv = await runYx(url, ['plan', 'assessment', 'p-1', '--csv', '--slots', '50']);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout, CSV);
  const fleet = await runYx(url, ['assessment', '--pool', 'db', '--role', 'podman', '--json']);
  assert.equal(fleet.code, 0, fleet.stderr);
  assert.equal(JSON.parse(fleet.stdout).scope.kind, 'fleet');
  const text = await runYx(url, ['assessment']);
  assert.match(text.stdout, /^fleet: 12 hosts/);
  assert.deepEqual(paths, [
    '/v1/plans/p-1/assessment?slots=50&format=csv',
    '/v1/assessment?pool=db&role=podman',
    '/v1/assessment?view=overview',
  ]);
});

test('--output writes the report to the file (CSV with --csv, else JSON) and prints the summary', async () => {
  const { url } = await api();
  const dir = await mkdtemp(path.join(tmpdir(), 'yx-assessment-'));
  const csv = await runYx(url, ['plan', 'assessment', 'p-1', '--csv', '--output', path.join(dir, 'pool.csv')]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(await readFile(path.join(dir, 'pool.csv'), 'utf8'), CSV);
  assert.match(csv.stdout, /^plan p-1: 12 hosts/);
  assert.match(csv.stderr, /\(the report, CSV: .*pool\.csv\)/);
  const json = await runYx(url, ['assessment', '-o', path.join(dir, 'fleet.json')]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(await readFile(path.join(dir, 'fleet.json'), 'utf8')).counts.inhibited, 6);
  const nowhere = await runYx(url, ['assessment', '-o', path.join(dir, 'no', 'such', 'dir.json')]);
  assert.equal(nowhere.code, 2);
  assert.match(nowhere.stderr, /cannot write .*dir\.json: ENOENT/);
});

test('a wrong command line is exit 2 with nothing sent; an unknown plan is the API 404', async () => {
  const { url, paths } = await api();
  const cases: [string[], RegExp][] = [
    [['plan', 'assessment'], /missing PLAN/],
    [['plan', 'assessment', 'p-1', 'p-2'], /one PLAN at a time/],
    [['plan', 'assessment', 'p-1', '--csv', '--json'], /--csv or --json, not both/],
    [['plan', 'assessment', 'p-1', '--slots', '0'], /--slots 0: give a whole number/],
    [['assessment', 'now'], /unknown command "assessment now"/],
  ];
  for (const [args, message] of cases) {
    const res = await runYx(url, args);
    assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message, args.join(' '));
  }
  assert.deepEqual(paths, []);
  const missing = await runYx(url, ['plan', 'assessment', 'p-missing', '--csv']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no plan p-missing \(HTTP 404 NOT_FOUND\)/);
});

test('sizes and durations read at a glance', () => {
  assert.deepEqual([0, 1023, 1536, 5 * MiB, 3 * 1024 * MiB, -2 * MiB].map(bytes), [
    '0 B',
    '1023 B',
    '1.5 KiB',
    '5.0 MiB',
    '3.0 GiB',
    '-2.0 MiB',
  ]);
  assert.deepEqual([0, 59, 60, 3599, 3600, 3660, 90_061, 86_400].map(duration), ['0s', '59s', '1m', '59m', '1h', '1h 1m', '1d 1h', '1d']);
});
