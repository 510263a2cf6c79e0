// The Prometheus rules in infra/prometheus/rules are valid (`promtool check rules`), do what
// their unit tests in infra/prometheus/tests say (`promtool test rules`), and every alert
// has such a test; the configuration beside them is valid (`promtool check config`). Debian's promtool, installed by the set-up (infra/dev/host-programs.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../../infra/dev/paths.ts';

const exec = promisify(execFile);
const RULES = path.join(repoRoot, 'infra', 'prometheus', 'rules');
const TESTS = path.join(repoRoot, 'infra', 'prometheus', 'tests');

const yamlFiles = async (dir: string): Promise<string[]> =>
  (await readdir(dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));

/** promtool's output whatever its exit code, and whether it succeeded. */
async function promtool(args: string[], cwd: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await exec('promtool', args, { cwd });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

test('promtool check rules: every rules file is valid', async () => {
  const files = await yamlFiles(RULES);
  assert.ok(files.length > 0, `no rules in ${RULES}`);
  const r = await promtool(['check', 'rules', ...files], RULES);
  assert.ok(r.ok, r.output);
  assert.match(r.output, /SUCCESS: \d+ rules found/);
});

test('promtool check config: the shipped prometheus.yaml is valid (its secrets exist only in compose)', async () => {
  const dir = path.dirname(RULES);
  const r = await promtool(['check', 'config', '--syntax-only', 'prometheus.yaml'], dir);
  assert.ok(r.ok, r.output);
  assert.match(r.output, /SUCCESS/);
});

test('promtool test rules: every rule does what its unit test says', async () => {
  const files = await yamlFiles(TESTS);
  assert.ok(files.length > 0, `no rule tests in ${TESTS}`);
  const r = await promtool(['test', 'rules', ...files], TESTS);
  assert.ok(r.ok, r.output);
  assert.doesNotMatch(r.output, /FAILED/);
});

test('every alert has a unit test that expects it to fire', async () => {
  const rules = (await Promise.all((await yamlFiles(RULES)).map((f) => readFile(f, 'utf8')))).join('\n');
  const tests = (await Promise.all((await yamlFiles(TESTS)).map((f) => readFile(f, 'utf8')))).join('\n');
  const alerts = [...rules.matchAll(/^\s*- alert:\s*(\S+)/gm)].map((m) => m[1] as string);
  assert.ok(alerts.length > 0);
  // An alert test that expects an alert lists exp_labels under its alertname.
  const firing = new Set(
    [...tests.matchAll(/alertname:\s*(\S+)\s*\n\s*eval_time:[^\n]*\n\s*exp_alerts:\s*\n\s*- exp_labels/g)].map((m) => m[1]),
  );
  assert.deepEqual(
    alerts.filter((a) => !firing.has(a)),
    [],
    'alerts without a test that expects them to fire',
  );
});
