// A plan's cluster probe is fetched by every agent it reaches: only a configured target
// may be named (no server-side request forgery through a plan), and the refusal names it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkProbe, PlanValidationError } from './plan.service.ts';

const allowed = ['db.lan:5432', 'http://health.lan/ready'];
const refusal = (target: string, reason: RegExp) => (err: unknown) =>
  err instanceof PlanValidationError &&
  err.httpStatus === 400 &&
  err.details.field === 'body.clusterCheck.probe.target' &&
  reason.test(err.message) &&
  err.message.includes(JSON.stringify(target));

test('a configured probe target is accepted, of its own kind only', () => {
  checkProbe(undefined, []);
  checkProbe({ kind: 'tcp', target: 'db.lan:5432', timeoutMs: 1000 }, allowed);
  checkProbe({ kind: 'http', target: 'http://health.lan/ready', timeoutMs: 1000 }, allowed);
  assert.throws(() => checkProbe({ kind: 'tcp', target: 'http://health.lan/ready', timeoutMs: 1000 }, allowed), PlanValidationError);
});

test('any other target is a 400 naming it and what is configured', () => {
  for (const target of ['http://169.254.169.254/latest/meta-data/', 'http://health.lan/ready?x=1', 'http://HEALTH.lan/ready']) {
    assert.throws(
      () => checkProbe({ kind: 'http', target, timeoutMs: 1000 }, allowed),
      refusal(target, /is not a configured http probe target \(YX_CLUSTER_PROBE_TARGETS: http:\/\/health\.lan\/ready\)/),
    );
  }
  assert.throws(
    () => checkProbe({ kind: 'tcp', target: '10.0.0.1:22', timeoutMs: 1000 }, []),
    refusal('10.0.0.1:22', /YX_CLUSTER_PROBE_TARGETS: none/),
  );
  assert.throws(() => checkProbe({ kind: 'tcp', target: 'no-port', timeoutMs: 1000 }, allowed), refusal('no-port', /is not host:port/));
});
