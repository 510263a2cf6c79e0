// The leader lease on a real nats-server, held by real processes: one of two replicas
// leads; a SIGKILLed leader is replaced after the lease's time-to-live with a higher
// epoch; a leader paused past its deadline (SIGSTOP) finds itself deposed when it wakes
// and never renews over the new leader; a leader that stops hands over at once.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { repoRoot } from '../../infra/dev/paths.ts';
import { type NatsFixture, startNats } from '../fixtures/nats.ts';
import { waitUntil } from '../fixtures/wait.ts';

let nats: NatsFixture;
const children: ChildProcess[] = [];

before(async () => {
  nats = await startNats();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await nats.stop();
});

const TIMINGS = { TTL_MS: '1500', RENEW_MS: '250', DEADLINE_MS: '1000' };

interface Holder {
  name: string;
  child: ChildProcess;
  lines: string[];
  epochs(): number[];
  deposed(): string[];
}

async function holder(key: string, name: string, timings: Record<string, string> = TIMINGS): Promise<Holder> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'tests/fixtures/lease-holder.ts')], {
    cwd: repoRoot,
    env: { ...process.env, NATS_URL: nats.url, LEASE_KEY: key, HOLDER: name, ...timings },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      lines.push(l);
      if (l === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited ${code} before it was ready`)));
  });
  await ready;
  return {
    name,
    child,
    lines,
    epochs: () => lines.filter((l) => l.startsWith('elected ')).map((l) => Number(l.slice(8))),
    deposed: () => lines.filter((l) => l.startsWith('deposed ')).map((l) => l.slice(8)),
  };
}

const leaders = (hs: Holder[]): Holder[] => hs.filter((h) => h.epochs().length > h.deposed().length);

/** Waits for the one leader of two holders; returns it and the other. */
async function theLeader(hs: Holder[]): Promise<{ old: Holder; other: Holder }> {
  const l = await waitUntil(
    async () => {
      const now = leaders(hs);
      return { done: now.length > 0, value: now, state: now.map((h) => h.name).join(',') };
    },
    { what: 'a leader' },
  );
  assert.equal(l.length, 1, 'exactly one leader');
  const old = l[0] as Holder;
  return { old, other: hs.find((h) => h !== old) as Holder };
}

const elected = (h: Holder): Promise<undefined> =>
  waitUntil(async () => ({ done: h.epochs().length > 0, value: undefined, state: h.lines.join('|') }), { what: `${h.name} elected` });

test('one of two replicas leads; a SIGKILLed leader is replaced with a higher epoch', async () => {
  const { old, other } = await theLeader([await holder('kill', 'a'), await holder('kill', 'b')]);
  const killedAt = performance.now();
  old.child.kill('SIGKILL');
  await elected(other);
  const tookMs = performance.now() - killedAt;
  assert.ok((other.epochs()[0] ?? 0) > (old.epochs()[0] ?? 0), `epoch grows: ${old.epochs()} then ${other.epochs()}`);
  // Not before the lease's time-to-live: the follower waits it out on its own clock.
  assert.ok(tookMs >= 1_000, `took over after ${Math.round(tookMs)} ms`);
});

test('a leader paused past its deadline is deposed when it wakes, and never renews over the new one', async () => {
  const hs = [await holder('pause', 'c'), await holder('pause', 'd')];
  const { old, other } = await theLeader(hs);
  old.child.kill('SIGSTOP');
  await elected(other);
  old.child.kill('SIGCONT');
  await waitUntil(async () => ({ done: old.deposed().length > 0, value: undefined, state: old.lines.join('|') }), {
    what: 'the old leader deposed',
  });
  // The new leader keeps the lease: the woken one stepped down without writing over it.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual(other.deposed(), [], `the new leader was not deposed: ${other.lines.join('|')}`);
  assert.deepEqual(leaders(hs), [other]);
});

test("a leader that stops hands over at its follower's next look, well within the time-to-live", async () => {
  // A time-to-live far above the hand-over: a follower that had to wait it out could not pass.
  const slow = { TTL_MS: '30000', RENEW_MS: '250', DEADLINE_MS: '20000' };
  const { old, other } = await theLeader([await holder('stop', 'e', slow), await holder('stop', 'f', slow)]);
  const stoppedAt = performance.now();
  old.child.kill('SIGTERM');
  await elected(other);
  const tookMs = performance.now() - stoppedAt;
  assert.ok(tookMs < 30_000, `handed over in ${Math.round(tookMs)} ms`);
});
