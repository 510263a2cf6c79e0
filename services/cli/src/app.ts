// The `yx` commands. run() parses arguments, calls the API and prints; it returns the exit
// code, so tests drive it in process. Errors end with one line on stderr and exit ≠ 0.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { alertCommands } from './alert-commands.ts';
import { ApiClient, ApiError } from './api-client.ts';
import { assessmentCommands } from './assessment-commands.ts';
import { backupCommands } from './backup-commands.ts';
import { operationCommands } from './operation-commands.ts';

export type { Io } from './cli-kit.ts';

import { count, type Io, more, need, type Printer, paging, parseCli, seg, table, UsageError, type Values } from './cli-kit.ts';
import { accessHint, CliConfigError, type CliSettings, newToken, readCliSettings } from './credentials.ts';
import { type PlanProgress, type PlanSummary, ProgressRenderer } from './progress.ts';

export const USAGE = `yx — Yixing from the terminal

  yx plan create -f PLAN.(json|yaml) [--wait]   create and start a plan (--wait: follow it to the end)
  yx plan list [--state STATE] [--limit N] [--cursor C]   plans, newest first (every page unless --limit)
  yx plan show PLAN [--watch]                   a plan's progress (--watch: live bars until it ends)
  yx plan hosts PLAN [--state STATE] [--limit N] [--cursor C]   a plan's hosts in take order, where each one is
  yx plan pause|resume|approve|retry-failed PLAN
  yx plan abort PLAN [--rollback]               stop starting hosts; in-flight hosts finish (or roll back)
  yx plan exclude PLAN HOST                     never start this host in the plan
  yx plan assessment PLAN [--csv|--json] [--output FILE] [--slots N]   the pool report: ready, warnings, inhibitors, estimate
  yx assessment [--pool P] [--cluster C] [--role R] [--csv|--json] [--output FILE]   each host's latest assessment
  yx hosts list [--pool P] [--cluster C] [--zone Z] [--rack R] [--role R] [--limit N] [--cursor C]
  yx host show HOST                             a host, its runs and their steps
  yx host migrate HOST --profile P [--wait]     the one click: migrate one host (an operation; --wait: to its end)
  yx op run HOST assess|backup|upgrade|rollback|migrate --profile P [--backup ID] [--callback URL] [--key K] [--wait]
                                                one capability on one host; an upgrade or rollback needs a verified backup
  yx op show OP                                 an operation: state, steps, failure and its log
  yx op list [--host H] [--limit N] [--cursor C]   operations, newest first
  yx host logs HOST [--run RUN] [--step STEP] [--limit N] [--cursor C]   a run's log lines, oldest first
  yx host logs HOST [--run RUN] --tail N        the run's last N lines (where a failure is)
  yx backups list [--host H] [--plan P] [--state S] [--limit N] [--cursor C]
  yx backup show|verify ID                      a backup; verify re-reads it end to end
  yx backup delete ID                           refused for a verified backup whose run has not ended
  yx alerts list [--state firing|resolved|all] [--plan P] [--host H] [--limit N] [--cursor C]   firing alerts unless --state
  yx alerts ack|resolve FINGERPRINT             acknowledge (repeats stop) or resolve an alert, as you
  yx silences add MATCHERS --duration 2h|--ends TIME --comment WHY   mute what matches, e.g. plan=p1 'step=~"upgrade|reboot"'
  yx silences list [--state active|pending|expired|all]
  yx silences expire SILENCE                    end a silence now
  yx token new NAME ROLE                        a new API token (viewer, operator or admin) and its tokens-file line

Options: --api URL (or YX_API, or api: in the config file; default http://127.0.0.1:8080), --backup-api URL
(or YX_BACKUP_API, or backupApi:; default http://127.0.0.1:8081), --alerting-api URL (or YX_ALERTING_API, or
alertingApi:; default http://127.0.0.1:8083), --json
The API token: YX_TOKEN, or token: in the config file (YX_CONFIG, default ~/.config/yixing/config.yaml, chmod 600).
Lists print every page unless --limit N; with more left, stderr names the --cursor to go on from.
Exit codes: 0 done; 1 the API refused or failed; 2 bad usage; 3 the plan ended with failures or was aborted.
`;

const TERMINAL = new Set(['completed', 'aborted']);

export async function run(argv: string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    io.stderr.write(`yx: ${(err as Error).message}\n`);
    return 2;
  }
  const { positionals: pos, values } = parsed;
  if (values.help || pos.length === 0) {
    io.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const out = (text: string): void => {
    io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  const json = (v: unknown): void => out(JSON.stringify(v, null, 2));
  let settings: CliSettings | undefined;
  try {
    if (pos[0] === 'token') return tokenCommand(pos, values, out, json);
    settings = await readCliSettings(io.env);
    const api = (which: keyof typeof APIS): ApiClient => client(APIS[which], values, io.env, settings as CliSettings);
    const print: Printer = { out, json };
    if (pos[0] === 'backups' || pos[0] === 'backup') return await backupCommands(pos, values, api('backup'), io, print);
    if (ALERTING_NOUNS.has(pos[0] as string)) return await alertCommands(pos, values, api('alerting'), io, print);
    if (pos[0] === 'assessment' || (pos[0] === 'plan' && pos[1] === 'assessment'))
      return await assessmentCommands(pos, values, api('scheduler'), io, print);
    if (pos[0] === 'op' || pos[0] === 'ops' || (pos[0] === 'host' && pos[1] === 'migrate'))
      return await operationCommands(pos, values, api('scheduler'), io, print);
    return await dispatch(pos, values, api('scheduler'), io, out, json);
  } catch (err) {
    if (err instanceof UsageError || err instanceof CliConfigError) {
      io.stderr.write(`yx: ${err.message}\n${err instanceof UsageError ? '(see yx --help)\n' : ''}`);
      return 2;
    }
    if (err instanceof ApiError) {
      io.stderr.write(`yx: ${err.message}${err.status ? ` (HTTP ${err.status} ${err.code})` : ''}\n`);
      const hint = settings ? accessHint(err.status, settings) : '';
      if (hint) io.stderr.write(`yx: ${hint}\n`);
      return 1;
    }
    io.stderr.write(`yx: ${(err as Error).message}\n`);
    return 1;
  }
}

const ALERTING_NOUNS = new Set(['alerts', 'alert', 'silences', 'silence']);

/** Where each API is: its option, environment variable and config-file key (in that order), else a local port. */
const APIS = {
  scheduler: { service: 'the scheduler', option: 'api', env: 'YX_API', setting: 'api', port: 8080 },
  backup: { service: 'the backup service', option: 'backup-api', env: 'YX_BACKUP_API', setting: 'backupApi', port: 8081 },
  alerting: { service: 'the alerting service', option: 'alerting-api', env: 'YX_ALERTING_API', setting: 'alertingApi', port: 8083 },
} as const;

function client(where: (typeof APIS)[keyof typeof APIS], values: Values, env: Io['env'], settings: CliSettings): ApiClient {
  const baseUrl = values[where.option] ?? env[where.env] ?? settings[where.setting] ?? `http://127.0.0.1:${where.port}`;
  if (!URL.canParse(baseUrl))
    throw new UsageError(`--${where.option} ${JSON.stringify(baseUrl)} is not a URL (like http://127.0.0.1:${where.port})`);
  return new ApiClient({ baseUrl, service: where.service, ...(settings.token ? { token: settings.token } : {}) });
}

/** `yx token new NAME ROLE`: made here, nothing sent; the token is printed once and kept nowhere. */
function tokenCommand(pos: string[], v: Values, out: (t: string) => void, json: (x: unknown) => void): number {
  const [, verb, name, role] = pos;
  if (verb !== 'new' || pos.length !== 4) throw new UsageError(`unknown command "${pos.join(' ')}"; it is yx token new NAME ROLE`);
  const made = newToken(name as string, role as string);
  if (v.json) json(made);
  else
    out(
      [
        `token for ${made.name} (${made.role}); give it to them, it is shown only this once:`,
        `  ${made.token}`,
        "add this line to the API's tokens file (YX_API_TOKENS_FILE; read again when it changes):",
        `  ${made.line}`,
      ].join('\n'),
    );
  return 0;
}

async function readPlanFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function follow(api: ApiClient, planId: string, io: Io, asJson: boolean): Promise<PlanProgress> {
  const renderer = new ProgressRenderer(io.stdout);
  let last: PlanProgress | undefined;
  for await (const e of api.events(`/v1/plans/${seg(planId)}/events`)) {
    if (e.event !== 'plan') continue;
    last = e.data as PlanProgress;
    if (!asJson) renderer.render(last);
    if (TERMINAL.has(last.state)) break;
  }
  if (!last) throw new Error(`the event stream of plan ${planId} ended before any progress`);
  return last;
}

const endCode = (p: PlanProgress): number => (p.state === 'completed' && p.counters.failed === 0 ? 0 : 3);

async function dispatch(
  pos: string[],
  v: Values,
  api: ApiClient,
  io: Io,
  out: (t: string) => void,
  json: (x: unknown) => void,
): Promise<number> {
  const [noun, verb, a, b] = pos;
  const key = `${noun} ${verb ?? ''}`.trim();
  switch (key) {
    case 'plan create': {
      const body = await readPlanFile(need(v.file, '-f PLAN_FILE'));
      const plan = await api.post<PlanProgress>('/v1/plans', body);
      // Hosts excluded at creation (an agent older than minAgentVersion) are named at once.
      const excluded = plan.counters.excluded > 0 ? `; ${plan.counters.excluded} excluded: yx plan hosts ${plan.id} --state excluded` : '';
      if (!v.wait) {
        if (v.json) json(plan);
        else out(`created plan ${plan.id} (${plan.counters.total} hosts, ${plan.state})${excluded}`);
        return 0;
      }
      if (!v.json) out(`created plan ${plan.id}${excluded}; following it (Ctrl-C stops watching, not the plan)`);
      const end = await follow(api, plan.id, io, v.json);
      if (v.json) json(end);
      return endCode(end);
    }
    case 'plans list':
    case 'plan list': {
      const q = new URLSearchParams(v.state ? { state: v.state } : {});
      const { items: plans, nextCursor } = await api.list<PlanSummary>('/v1/plans', q, paging(v));
      more(io, nextCursor);
      if (v.json) json(plans);
      else
        out(
          table([
            ['PLAN', 'STATE', 'DONE', 'OK', 'FAILED', 'IN FLIGHT', 'BUDGET'],
            ...plans.map((p) => [
              p.id,
              p.state,
              `${p.percentDone}%`,
              String(p.counters.succeeded),
              String(p.counters.failed),
              String(p.counters.inFlight),
              `${p.counters.failures}/${p.budget.limit}`,
            ]),
          ]),
        );
      return 0;
    }
    case 'plan show': {
      const id = need(verb && a, 'PLAN');
      if (v.watch) {
        const end = await follow(api, id, io, v.json);
        if (v.json) json(end);
        return endCode(end);
      }
      const plan = await api.get<PlanProgress>(`/v1/plans/${seg(id)}`);
      if (v.json) json(plan);
      else new ProgressRenderer(io.stdout, { tty: false }).render(plan);
      return 0;
    }
    case 'plan hosts': {
      const id = need(a, 'PLAN');
      const { items: hosts, nextCursor } = await api.list<{
        hostId: string;
        state: string;
        step: string | null;
        phase: number;
        cluster: string;
        failure: { step: string; code: string } | null;
        rollback: string;
        exclusionReason?: string;
      }>(`/v1/plans/${seg(id)}/hosts`, new URLSearchParams(v.state ? { state: v.state } : {}), { ...paging(v), key: 'hosts' });
      more(io, nextCursor);
      if (v.json) json(hosts);
      else
        out(
          table([
            ['HOST', 'PHASE', 'CLUSTER', 'STATE', 'STEP', 'ROLLBACK', 'FAILURE / WHY EXCLUDED'],
            ...hosts.map((h) => [
              h.hostId,
              h.state === 'excluded' ? '-' : String(h.phase),
              h.cluster,
              h.state,
              h.step ?? '-',
              h.rollback,
              h.failure ? `${h.failure.step}: ${h.failure.code}` : h.exclusionReason || '-',
            ]),
          ]),
        );
      return 0;
    }
    case 'plan pause':
    case 'plan resume':
    case 'plan approve':
    case 'plan retry-failed':
    case 'plan abort': {
      const id = need(a, 'PLAN');
      const res = await api.post<{ result: unknown; plan: PlanProgress }>(
        `/v1/plans/${seg(id)}/${verb}`,
        verb === 'abort' ? { inFlight: v.rollback ? 'rollback' : 'finish' } : {},
      );
      if (v.json) json(res);
      else out(`${id}: ${typeof res.result === 'string' ? res.result : JSON.stringify(res.result)}; plan is ${res.plan.state}`);
      return 0;
    }
    case 'plan exclude': {
      const res = await api.post<{ hostId: string; state: string }>(
        `/v1/plans/${seg(need(a, 'PLAN'))}/hosts/${seg(need(b, 'HOST'))}/exclude`,
      );
      if (v.json) json(res);
      else out(`${res.hostId}: ${res.state}`);
      return 0;
    }
    case 'hosts list': {
      const q = new URLSearchParams();
      for (const k of ['pool', 'cluster', 'zone', 'rack', 'role'] as const) if (v[k]) q.set(k, v[k] as string);
      const {
        items: hosts,
        nextCursor,
        first,
      } = await api.list<{
        hostId: string;
        labels: Record<string, string>;
        facts: Record<string, string> & { roles?: string[] };
        agentVersion: string;
        alive: boolean;
        activePlanId: string | null;
      }>('/v1/hosts', q, { ...paging(v), key: 'hosts' });
      more(io, nextCursor);
      const total = typeof first.total === 'number' ? first.total : hosts.length;
      if (v.json) json({ total, hosts, nextCursor });
      else
        out(
          `${table([
            ['HOST', 'OS', 'AGENT', 'POOL', 'CLUSTER', 'ZONE', 'RACK', 'ROLES', 'ALIVE', 'PLAN'],
            ...hosts.map((h) => [
              h.hostId,
              `${h.facts.osId} ${h.facts.osVersion}`,
              h.agentVersion || '-',
              h.labels.pool ?? '',
              h.labels.cluster ?? '',
              h.labels.zone ?? '',
              h.labels.rack ?? '',
              // The operator's role label, then what the agent detected.
              [...new Set([h.labels.role, ...(h.facts.roles ?? [])].filter(Boolean))].join(',') || '-',
              h.alive ? 'yes' : 'NO',
              h.activePlanId ?? '-',
            ]),
          ])}\n${hosts.length} of ${total} hosts`,
        );
      return 0;
    }
    case 'host show': {
      const res = await api.get<{
        host: { hostId: string; facts: Record<string, string>; labels: Record<string, string>; agentVersion: string; alive: boolean };
        runs: {
          planId: string;
          runId: string;
          state: string;
          exclusionReason?: string;
          history: { step: string; attempt: number; outcome: string; finishedAt: string; code: string; message: string }[];
        }[];
      }>(`/v1/hosts/${seg(need(a, 'HOST'))}`);
      if (v.json) json(res);
      else {
        const h = res.host;
        out(
          `${h.hostId}  ${h.facts.osId} ${h.facts.osVersion}  agent ${h.agentVersion || 'unknown'}  cluster ${h.labels.cluster}  ${h.alive ? 'alive' : 'NOT ALIVE'}`,
        );
        for (const r of res.runs) {
          out(`\n  plan ${r.planId}  run ${r.runId}  ${r.state}${r.exclusionReason ? `: ${r.exclusionReason}` : ''}`);
          out(
            table([
              ['    STEP', 'ATTEMPT', 'OUTCOME', 'FINISHED', 'ERROR'],
              ...r.history.map((s) => [
                `    ${s.step}`,
                String(s.attempt),
                s.outcome,
                s.finishedAt ?? '',
                s.code ? `${s.code}: ${s.message}` : '',
              ]),
            ]),
          );
        }
      }
      return 0;
    }
    case 'host logs': {
      const q = new URLSearchParams();
      if (v.run) q.set('runId', v.run);
      if (v.step) q.set('step', v.step);
      type Line = { at: string | null; step: string; source: string; text: string };
      const path = `/v1/hosts/${seg(need(a, 'HOST'))}/logs`;
      if (v.tail !== undefined) q.set('tail', String(count('--tail', v.tail)));
      // A tail is one read of the run's last lines; otherwise every page from the first.
      const { items: lines, nextCursor } =
        v.tail !== undefined
          ? await api.get<{ lines: Line[]; nextCursor: string | null }>(`${path}?${q}`).then((r) => ({ items: r.lines, nextCursor: null }))
          : await api.list<Line>(path, q, { ...paging(v), key: 'lines' });
      more(io, nextCursor);
      if (v.json) json({ lines, nextCursor });
      else for (const l of lines) out(`${l.at ?? '-'} ${l.step ?? '-'} ${l.source === 'stderr' ? 'ERR' : '   '} ${l.text}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${pos.join(' ')}"`);
  }
}
