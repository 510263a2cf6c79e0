import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPath } from './run-paths.ts';

test('a migration drains around the change only on a host with workloads', () => {
  assert.deepEqual(runPath('migrate', false), ['cluster-check', 'precheck', 'backup', 'upgrade', 'reboot', 'postcheck']);
  assert.deepEqual(runPath('migrate', true), ['cluster-check', 'precheck', 'drain', 'backup', 'upgrade', 'reboot', 'undrain', 'postcheck']);
});

test('an assessment and each operation walk their own steps', () => {
  assert.deepEqual(runPath('assess', true), ['precheck']);
  assert.deepEqual(runPath('backup', true), ['precheck', 'backup'], 'a backup alone leaves the workloads running');
  assert.deepEqual(runPath('upgrade', false), ['cluster-check', 'precheck', 'upgrade', 'reboot', 'postcheck']);
  assert.deepEqual(runPath('upgrade', true), ['cluster-check', 'precheck', 'drain', 'upgrade', 'reboot', 'undrain', 'postcheck']);
  assert.deepEqual(runPath('rollback', false), ['rollback']);
  assert.deepEqual(runPath('rollback', true), ['drain', 'rollback', 'undrain']);
});
