// The `yx alerts` and `yx silences` commands, against the alerting API: what fires, who
// acknowledged it, and the silences that mute it.
import type { ApiClient } from './api-client.ts';
import { type Io, more, need, oneOf, type Printer, paging, seg, table, UsageError, type Values } from './cli-kit.ts';

interface AlertView {
  fingerprint: string;
  status: 'firing' | 'resolved';
  acknowledged: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string | null;
  link: string;
  ackedBy: string | null;
  resolvedBy: string | null;
}

interface SilenceView {
  id: string;
  matchers: string;
  state: 'active' | 'pending' | 'expired';
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  expiredBy: string | null;
}

const ALERT_STATES = ['firing', 'resolved', 'all'] as const;
const SILENCE_STATES = ['active', 'pending', 'expired', 'all'] as const;

/** An alert's state in one word: firing, acked (firing, acknowledged) or resolved. */
export const alertState = (a: Pick<AlertView, 'status' | 'acknowledged'>): string =>
  a.status === 'resolved' ? 'resolved' : a.acknowledged ? 'acked' : 'firing';

/** Times as the API gives them, to the minute: the tables stay narrow. */
const minute = (iso: string | null): string => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-');

function alertTable(alerts: AlertView[]): string {
  return table([
    ['FINGERPRINT', 'STATE', 'SEVERITY', 'ALERT', 'PLAN', 'HOST', 'STEP', 'STARTED', 'BY'],
    ...alerts.map((a) => [
      a.fingerprint,
      alertState(a),
      a.labels.severity ?? '-',
      a.labels.alertname ?? '-',
      a.labels.plan ?? '-',
      a.labels.host ?? '-',
      a.labels.step ?? '-',
      minute(a.startsAt),
      (a.status === 'resolved' ? a.resolvedBy : a.ackedBy) ?? '-',
    ]),
  ]);
}

function silenceTable(silences: SilenceView[]): string {
  return table([
    ['SILENCE', 'STATE', 'MATCHERS', 'STARTS', 'ENDS', 'BY', 'COMMENT'],
    ...silences.map((s) => [s.id, s.state, s.matchers, minute(s.startsAt), minute(s.endsAt), s.createdBy, s.comment]),
  ]);
}

/** The body of `yx silences add`: matchers (several arguments are one list), and an end as a duration or a time. */
export function silenceBody(matcherArgs: string[], v: Pick<Values, 'duration' | 'ends' | 'comment'>): Record<string, string> {
  if (matcherArgs.length === 0) throw new UsageError('missing MATCHERS (like plan=p1 or \'{plan="p1", step="upgrade"}\')');
  if (v.duration === undefined && v.ends === undefined)
    throw new UsageError('give how long it lasts: --duration 2h, or --ends 2026-12-06T18:00:00Z');
  if (v.duration !== undefined && v.ends !== undefined) throw new UsageError('give --duration or --ends, not both');
  if (!v.comment?.trim()) throw new UsageError('give --comment saying why (whoever finds the alerts muted reads it)');
  return {
    matchers: matcherArgs.join(', '),
    ...(v.duration !== undefined ? { duration: v.duration } : {}),
    ...(v.ends !== undefined ? { endsAt: v.ends } : {}),
    comment: v.comment,
  };
}

/** `yx alerts list|ack|resolve`, `yx silences add|list|expire`. */
export async function alertCommands(pos: string[], v: Values, api: ApiClient, io: Io, { out, json }: Printer): Promise<number> {
  const [noun, verb, ...rest] = pos;
  const key = `${noun} ${verb ?? ''}`.trim();
  switch (key) {
    case 'alerts list':
    case 'alert list': {
      const q = new URLSearchParams();
      const state = oneOf('--state', v.state, ALERT_STATES);
      if (state) q.set('state', state);
      if (v.plan) q.set('plan', v.plan);
      if (v.host) q.set('host', v.host);
      const { items, nextCursor } = await api.list<AlertView>('/v1/alerts', q, paging(v));
      more(io, nextCursor);
      if (v.json) json(items);
      else
        out(`${alertTable(items)}\n${items.length} ${state === 'all' ? '' : `${state ?? 'firing'} `}alert${items.length === 1 ? '' : 's'}`);
      return 0;
    }
    case 'alerts ack':
    case 'alert ack':
    case 'alerts resolve':
    case 'alert resolve': {
      const fingerprint = need(rest[0], 'FINGERPRINT (from yx alerts list)');
      if (rest.length > 1) throw new UsageError(`one FINGERPRINT at a time; got ${rest.length}`);
      const a = await api.post<AlertView>(`/v1/alerts/${seg(fingerprint)}/${verb}`);
      if (v.json) json(a);
      else
        out(
          verb === 'ack'
            ? `${a.fingerprint}: acknowledged by ${a.ackedBy ?? '?'} (${a.labels.alertname ?? 'alert'}; repeats stop until it resolves)`
            : `${a.fingerprint}: resolved by ${a.resolvedBy ?? '?'} (${a.labels.alertname ?? 'alert'})`,
        );
      return 0;
    }
    case 'silences add':
    case 'silence add': {
      const s = await api.post<SilenceView>('/v1/silences', silenceBody(rest, v));
      if (v.json) json(s);
      else out(`${s.id}: ${s.state} until ${s.endsAt}, muting ${s.matchers}\n(expire it early: yx silences expire ${s.id})`);
      return 0;
    }
    case 'silences list':
    case 'silence list': {
      const state = oneOf('--state', v.state, SILENCE_STATES);
      const { items, nextCursor } = await api.list<SilenceView>('/v1/silences', new URLSearchParams(state ? { state } : {}), paging(v));
      more(io, nextCursor);
      if (v.json) json(items);
      else out(silenceTable(items));
      return 0;
    }
    case 'silences expire':
    case 'silence expire': {
      const id = need(rest[0], 'SILENCE (from yx silences list)');
      const s = await api.request<SilenceView>('DELETE', `/v1/silences/${seg(id)}`);
      if (v.json) json(s);
      else out(`${s.id}: ${s.state} (ended ${s.endsAt}${s.expiredBy ? ` by ${s.expiredBy}` : ''})`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${pos.join(' ')}"; it is yx alerts list|ack|resolve or yx silences add|list|expire`);
  }
}
