// A run as a plan creates it: pending (or excluded, with the reason), version 0, nothing done yet.
import { randomBytes } from 'node:crypto';
import type { HostRunDoc } from '../db/models.ts';

const RUN_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Random bytes drawn 4 KiB at a time: a plan of 100,000 hosts makes 100,000 ids at once. */
const pool = { bytes: Buffer.alloc(0), at: 0 };

/** A run id: it names the run on the bus (log subjects, command ids); new on every retry. */
export function newRunId(): string {
  if (pool.at + 16 > pool.bytes.length) {
    pool.bytes = randomBytes(4096);
    pool.at = 0;
  }
  let id = 'r';
  for (let i = 0; i < 16; i++) id += RUN_ID_ALPHABET[(pool.bytes[pool.at + i] as number) % RUN_ID_ALPHABET.length];
  pool.at += 16;
  return id;
}

export function pendingRun(where: Pick<HostRunDoc, 'planId' | 'hostId' | 'order' | 'phase' | 'cluster' | 'zone' | 'rack'>): HostRunDoc {
  return {
    _id: `${where.planId}/${where.hostId}`,
    ...where,
    runId: newRunId(),
    previousRunIds: [],
    state: 'pending',
    step: null,
    attempt: 0,
    commandId: '',
    stepState: null,
    dispatchedAt: null,
    stepStartedAt: null,
    deadlineAt: null,
    notBefore: null,
    failure: null,
    rollback: 'none',
    history: [],
    slots: [],
    deferrals: 0,
    backupId: '',
    backupVerified: false,
    exclusionReason: '',
    version: 0,
  };
}

/** A run a plan creates excluded: it never starts, and does not count against the error budget. */
export function excludedRun(where: Parameters<typeof pendingRun>[0], reason: string): HostRunDoc {
  return { ...pendingRun(where), state: 'excluded', exclusionReason: reason };
}
