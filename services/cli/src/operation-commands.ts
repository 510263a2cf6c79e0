// `yx host migrate` (the one click) and `yx op`: one capability on one host through the
// operations API, followed to its end with --wait.
import { randomUUID } from 'node:crypto';
import type { ApiClient } from './api-client.ts';
import { type Io, more, need, type Printer, paging, seg, table, UsageError, type Values } from './cli-kit.ts';

interface OperationView {
  operationId: string;
  hostId: string;
  capability: string;
  profile: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  step: string | null;
  runId: string;
  backupId: string;
  error: { step: string; code: string; message: string } | null;
  rollback: string;
  steps: { step: string; attempt: number; outcome: string; code: string; message: string }[];
  logs: string;
  createdAt: string;
}

const CAPABILITIES = new Set(['assess', 'backup', 'upgrade', 'rollback', 'migrate']);
const OVER = new Set(['succeeded', 'failed']);

/** What a person reads of an operation: its state, each step, the failure and where the log is. */
export function describeOperation(op: OperationView): string {
  const lines = [
    `${op.operationId}: ${op.capability} of ${op.hostId} (${op.profile}) ${op.state}${op.step && !OVER.has(op.state) ? `, at ${op.step}` : ''}`,
    ...op.steps.map(
      (s) =>
        `  ${s.outcome === 'succeeded' ? '✔' : s.outcome === 'failed' ? '✖' : '…'} ${s.step}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}${s.outcome === 'failed' ? `: ${s.code} ${s.message}` : ''}`,
    ),
  ];
  if (op.backupId) lines.push(`  backup ${op.backupId}`);
  if (op.error)
    lines.push(
      `  failed at ${op.error.step}: ${op.error.code}: ${op.error.message}${op.rollback !== 'none' ? ` (rollback ${op.rollback})` : ''}`,
    );
  if (op.state === 'failed') lines.push(`  its log: yx host logs ${op.hostId} --run ${op.runId} --tail 50`);
  return lines.join('\n');
}

async function waitFor(api: ApiClient, op: OperationView, io: Io, asJson: boolean): Promise<OperationView> {
  let last = op;
  let shown = '';
  while (!OVER.has(last.state)) {
    const line = `${last.state}${last.step ? ` ${last.step}` : ''}`;
    if (!asJson && line !== shown) io.stderr.write(`${last.operationId}: ${line}\n`);
    shown = line;
    await new Promise((r) => setTimeout(r, 1000));
    last = await api.get<OperationView>(`/v1/operations/${seg(last.operationId)}`);
  }
  return last;
}

/** `yx host migrate HOST`, `yx op run HOST CAPABILITY`, `yx op show OP`, `yx op list`. */
export async function operationCommands(pos: string[], v: Values, api: ApiClient, io: Io, { out, json }: Printer): Promise<number> {
  const [noun, verb, a, b] = pos;
  const start = async (hostId: string, capability: string): Promise<number> => {
    if (!CAPABILITIES.has(capability))
      throw new UsageError(`unknown capability ${JSON.stringify(capability)}: assess, backup, upgrade, rollback or migrate`);
    const body = {
      capability,
      profile: need(v.profile, '--profile PROFILE'),
      ...(v.backup ? { backupId: v.backup } : {}),
      ...(v.callback ? { callbackUrl: v.callback } : {}),
      ...(v['dry-run'] ? { dryRun: true } : {}),
    };
    // One key per command: a retry of this request starts the operation at most once.
    const op = await api.request<OperationView>('POST', `/v1/hosts/${seg(hostId)}/operations`, body, {
      'idempotency-key': v.key ?? randomUUID(),
    });
    if (!v.wait) {
      if (v.json) json(op);
      else out(`started ${op.operationId}: ${capability} of ${hostId} (yx op show ${op.operationId})`);
      return 0;
    }
    const end = await waitFor(api, op, io, v.json);
    if (v.json) json(end);
    else out(describeOperation(end));
    return end.state === 'succeeded' ? 0 : 3;
  };
  switch (`${noun} ${verb ?? ''}`.trim()) {
    case 'host migrate':
      return start(need(a, 'HOST'), 'migrate');
    case 'op run':
      return start(need(a, 'HOST'), need(b, 'CAPABILITY'));
    case 'op show': {
      const op = await api.get<OperationView>(`/v1/operations/${seg(need(a, 'OPERATION'))}`);
      if (v.json) json(op);
      else out(describeOperation(op));
      return 0;
    }
    case 'op list':
    case 'ops list': {
      const q = new URLSearchParams();
      if (v.host) q.set('hostId', v.host);
      const { items, nextCursor } = await api.list<OperationView>('/v1/operations', q, paging(v));
      more(io, nextCursor);
      if (v.json) json(items);
      else
        out(
          table([
            ['OPERATION', 'HOST', 'CAPABILITY', 'STATE', 'STEP', 'CREATED'],
            ...items.map((o) => [o.operationId, o.hostId, o.capability, o.state, o.step ?? '-', o.createdAt]),
          ]),
        );
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${pos.join(' ')}"`);
  }
}
