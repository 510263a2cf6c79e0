import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { mayStartAt, timeLeftInWindow, windowNotice } from './windows.ts';

const at = (iso: string): number => Date.parse(iso);

test('absolute windows: inside, outside, and the cut-off before the end', () => {
  const w = [{ start: '2026-11-25T22:00:00Z', end: '2026-11-26T04:00:00Z' }];
  assert.equal(mayStartAt(w, 0, at('2026-11-25T21:59:59Z')), false);
  assert.equal(mayStartAt(w, 0, at('2026-11-25T22:00:00Z')), true);
  assert.equal(mayStartAt(w, 30, at('2026-11-26T03:29:00Z')), true);
  assert.equal(mayStartAt(w, 30, at('2026-11-26T03:30:00Z')), false);
  assert.equal(mayStartAt(w, 0, at('2026-11-26T04:00:00Z')), false);
  assert.equal(mayStartAt([], 0, at('2026-11-26T04:00:00Z')), true);
});

test('recurring windows in a time zone, including overnight ones', () => {
  // 01:00-05:00 Shanghai (UTC+8) on Wednesdays = Tuesday 17:00-21:00 UTC.
  const night = [{ days: ['wed'], from: '01:00', to: '05:00', timezone: 'Asia/Shanghai' }];
  assert.equal(mayStartAt(night, 0, at('2026-11-24T17:30:00Z')), true);
  assert.equal(mayStartAt(night, 0, at('2026-11-24T16:59:00Z')), false);
  assert.equal(mayStartAt(night, 0, at('2026-11-25T17:30:00Z')), false, 'Thursday is not a window day');
  assert.equal(timeLeftInWindow(night[0] as (typeof night)[0], at('2026-11-24T20:00:00Z')), 3600_000);
  // Overnight: Saturday 22:00 to Sunday 02:00 UTC.
  const weekend = [{ days: ['sat'], from: '22:00', to: '02:00' }];
  assert.equal(mayStartAt(weekend, 0, at('2026-11-28T23:00:00Z')), true);
  assert.equal(mayStartAt(weekend, 0, at('2026-11-29T01:30:00Z')), true);
  assert.equal(mayStartAt(weekend, 60, at('2026-11-29T01:30:00Z')), false, 'inside the cut-off');
  assert.equal(mayStartAt(weekend, 0, at('2026-11-29T02:00:00Z')), false);
  assert.equal(mayStartAt(weekend, 0, at('2026-11-27T23:00:00Z')), false, 'Friday night is not a window');
});

describe('windowNotice', () => {
  const w = [{ start: '2026-12-06T01:00:00Z', end: '2026-12-06T03:00:00Z' }];
  it('warns once hosts are in flight past the cut-off, with when the window closes', () => {
    assert.deepEqual(windowNotice(w, 30, 3, at('2026-12-06T02:00:00Z'), null), {
      warn: false,
      event: { kind: 'window-clear', message: 'inside a window again' },
    });
    assert.deepEqual(windowNotice(w, 30, 3, at('2026-12-06T02:00:00Z'), false), { warn: false });
    assert.deepEqual(windowNotice(w, 30, 3, at('2026-12-06T02:40:00Z'), false), {
      warn: true,
      event: { kind: 'window-closing', message: 'window closes at 2026-12-06T03:00:00.000Z with 3 hosts in flight' },
    });
    assert.deepEqual(windowNotice(w, 30, 3, at('2026-12-06T02:50:00Z'), true), { warn: true });
  });

  it('after the window: closed with hosts in flight; clear once they finish', () => {
    assert.equal(windowNotice(w, 30, 2, at('2026-12-06T04:00:00Z'), false).event?.message, 'window closed with 2 hosts in flight');
    assert.deepEqual(windowNotice(w, 30, 0, at('2026-12-06T04:10:00Z'), true), {
      warn: false,
      event: { kind: 'window-clear', message: 'no host in flight' },
    });
  });

  it('a plan without windows never warns nor announces', () => {
    assert.deepEqual(windowNotice([], 30, 5, at('2026-12-06T04:00:00Z'), null), { warn: false });
  });
});
