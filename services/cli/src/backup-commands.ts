// The `yx backups` and `yx backup` commands: the backup service's catalog, from the terminal.
import type { ApiClient } from './api-client.ts';
import { type Io, more, need, type Printer, paging, seg, table, UsageError, type Values } from './cli-kit.ts';

interface BackupView {
  id: string;
  hostId: string;
  runId: string;
  planId: string;
  state: string;
  reason: string;
  sizeBytes: number;
  storedBytes: number;
  encrypted: boolean;
  osRelease: string;
  packageCount: number;
  packages?: string[];
  createdAt: string;
  expiresAt: string | null;
}

/** `yx backups list`, `yx backup show|verify|delete ID`, against the backup API. */
export async function backupCommands(pos: string[], v: Values, api: ApiClient, io: Io, { out, json }: Printer): Promise<number> {
  const [noun, verb, id] = pos;
  const key = `${noun} ${verb ?? ''}`.trim();
  const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  switch (key) {
    case 'backups list':
    case 'backup list': {
      const q = new URLSearchParams();
      if (v.host) q.set('hostId', v.host);
      if (v.plan) q.set('planId', v.plan);
      if (v.state) q.set('state', v.state);
      const { items: backups, nextCursor } = await api.list<BackupView>('/v1/backups', q, paging(v));
      more(io, nextCursor);
      if (v.json) json(backups);
      else
        out(
          table([
            ['BACKUP', 'HOST', 'PLAN', 'STATE', 'SIZE', 'SEALED', 'CREATED', 'EXPIRES'],
            ...backups.map((b) => [
              b.id,
              b.hostId,
              b.planId || '-',
              b.state,
              mib(b.sizeBytes),
              b.encrypted ? 'yes' : 'no',
              b.createdAt,
              b.expiresAt ?? 'after the run ends',
            ]),
          ]),
        );
      return 0;
    }
    case 'backup show': {
      const { packages, ...b } = await api.get<BackupView>(`/v1/backups/${seg(need(id, 'BACKUP'))}`);
      if (v.json) json({ ...b, packages });
      else
        out(
          Object.entries(b)
            .map(([k, val]) => `${k.padEnd(12)} ${Array.isArray(val) ? val.join(' ') : String(val)}`)
            .concat(b.packageCount ? [`(the package manifest: yx backup show ${b.id} --json)`] : [])
            .join('\n'),
        );
      return 0;
    }
    case 'backup verify': {
      const r = await api.post<{ ok: boolean; reason: string; backup: BackupView }>(`/v1/backups/${seg(need(id, 'BACKUP'))}/verify`);
      if (v.json) json(r);
      else out(r.ok ? `${id}: verified, ${mib(r.backup.sizeBytes)} read back intact` : `${id}: NOT OK: ${r.reason}`);
      return r.ok ? 0 : 3;
    }
    case 'backup delete': {
      const b = await api.request<BackupView>('DELETE', `/v1/backups/${seg(need(id, 'BACKUP'))}`);
      if (v.json) json(b);
      else out(`${b.id}: ${b.state}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${pos.join(' ')}"`);
  }
}
