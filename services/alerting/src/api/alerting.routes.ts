// The alerting API: alerts (list, show, acknowledge, resolve), silences (list, create,
// expire), metrics, the webhook PagerDuty calls back when an incident is acknowledged
// or resolved there, and Alertmanager's intake (POST /api/v2/alerts) for Prometheus. Every route behind its least role (route-roles.ts); each refusal is a
// YxError with its own status, answered in the one error shape.
import swagger from '@fastify/swagger';
import { idPatterns, NotFoundError, patterns, type Registry } from '@yixing/common';
import {
  type ApiAccess,
  apiSecuritySchemes,
  apiServerOptions,
  decodeCursor,
  documentErrors,
  encodeCursor,
  errorResponses,
  ForbiddenError,
  identityOf,
  installApiAuth,
  installApiErrors,
  localReference,
  okResponse,
  pageLimit,
  pageOf,
  pageQuery,
} from '@yixing/common/http';
import Fastify, { type FastifyInstance } from 'fastify';
import { FINGERPRINT_PATTERN } from '../engine/fingerprint.ts';
import type { SilenceState } from '../engine/silences.ts';
import type { IntakeResult } from '../ingest/alert-intake.service.ts';
import { type PostableAlert, postableAlertsSchema } from '../ingest/postable-alerts.ts';
import type { AlertStatus } from '../model/alert.ts';
import { parsePagerDutyWebhook } from '../receivers/pagerduty-webhook.ts';
import { type AlertDoc, type AlertStore, isFiring } from '../store/alert.store.ts';
import { SILENCE_ID_PATTERN, type SilenceStore } from '../store/silence.store.ts';
import { AlertNotFiringError } from './api-errors.ts';
import { alertingRouteRoles } from './route-roles.ts';
import { type SilenceRequest, silenceFromRequest } from './silence-request.ts';
import { alertView, silenceView } from './views.ts';

export interface PagerDutyBackChannel {
  /** The webhook signing secrets (two during a rotation). */
  secrets: string[];
  /** Applies what was done to an incident in PagerDuty to the alerts of its dedup key. */
  onAction(a: { action: 'acknowledge' | 'resolve' | 'unacknowledge'; dedupKey: string; actor: string }): Promise<void>;
}

export interface AlertIntakeApi {
  /** The identities (token names, OIDC subjects) that may push alerts, e.g. `prometheus`. */
  identities: readonly string[];
  take(alerts: readonly PostableAlert[], by: string): Promise<IntakeResult>;
}

export interface AlertingApiDeps {
  alerts: AlertStore;
  silences: SilenceStore;
  registry: Registry;
  access: ApiAccess;
  /** YX_CONSOLE_URL: alert links are it joined with the alert's path. */
  consoleUrl: string;
  clock: () => number;
  /** Absent: the webhook answers 401 to every call (no secret to check a signature with). */
  pagerDuty?: PagerDutyBackChannel;
  /** Alertmanager's intake; absent: POST /api/v2/alerts refuses every caller (403). */
  intake?: AlertIntakeApi;
  logger?: boolean;
}

export const ALERT_PAGE = { fallback: 100, max: 1000 } as const;
export const SILENCE_PAGE = { fallback: 100, max: 1000 } as const;

const fingerprintParams = {
  type: 'object',
  required: ['fingerprint'],
  additionalProperties: false,
  properties: { fingerprint: { type: 'string', pattern: FINGERPRINT_PATTERN, description: "The alert's fingerprint (16 hex)." } },
} as const;

const silenceBody = {
  type: 'object',
  additionalProperties: false,
  description: 'A new silence; matchers and comment are required, and endsAt or duration.',
  properties: {
    matchers: { type: 'string', maxLength: 4096, description: 'Alertmanager matchers, e.g. {plan="p1", step=~"upgrade|reboot"}.' },
    startsAt: { type: 'string', maxLength: 64, description: 'ISO 8601 with a zone; now when absent.' },
    endsAt: { type: 'string', maxLength: 64, description: 'ISO 8601 with a zone.' },
    duration: { type: 'string', maxLength: 32, description: 'From startsAt: 30m, 2h, 1h30m, 1d.' },
    comment: { type: 'string', maxLength: 4096, description: 'Why.' },
  },
} as const;

/** The filter values of GET /v1/alerts that are labels, by query field. */
const LABEL_FILTERS = ['alertname', 'plan', 'host', 'severity'] as const;

export async function buildAlertingApi(deps: AlertingApiDeps): Promise<FastifyInstance> {
  const { alerts, silences, registry, clock } = deps;
  const api = Fastify(
    apiServerOptions({ logger: deps.logger ?? false, ...(deps.access.tls ? { tls: deps.access.tls } : {}) }),
  ) as unknown as FastifyInstance;
  installApiErrors(api, { service: 'alerting service' });
  documentErrors(api);
  await installApiAuth(api, { ...deps.access, routeRoles: alertingRouteRoles });
  await api.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Yixing alerting API', version: '1.0.0', description: 'Alerts, acknowledgements and silences.' },
      components: { securitySchemes: apiSecuritySchemes },
    },
    refResolver: { buildLocalReference: localReference },
  });
  const view = (d: AlertDoc) => alertView(d, deps.consoleUrl);
  const found = async (fingerprint: string): Promise<AlertDoc> => {
    const doc = await alerts.get(fingerprint);
    if (!doc) throw new NotFoundError(`no alert has fingerprint ${fingerprint}`, { details: { fingerprint } });
    return doc;
  };
  const firing = async (fingerprint: string, verb: string): Promise<AlertDoc> => {
    const doc = await found(fingerprint);
    if (!isFiring(doc)) {
      throw new AlertNotFiringError(`alert ${fingerprint} is resolved; there is nothing to ${verb}`, {
        details: { fingerprint, status: 'resolved' },
      });
    }
    return doc;
  };

  api.get('/docs/json', { schema: { hide: true } }, async () => api.swagger());
  api.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  api.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  api.get<{ Querystring: Partial<Record<(typeof LABEL_FILTERS)[number] | 'state' | 'limit' | 'cursor', string>> }>(
    '/v1/alerts',
    {
      schema: {
        description: 'Alerts, the latest started first; firing ones unless `state` says otherwise.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['firing', 'resolved', 'all'], description: 'firing (default), resolved or all.' },
            alertname: { type: 'string', minLength: 1, maxLength: 200 },
            plan: { type: 'string', pattern: idPatterns.planId },
            host: { type: 'string', pattern: idPatterns.hostId },
            severity: { type: 'string', pattern: patterns.alertNotification.severity },
            ...pageQuery(ALERT_PAGE.max),
          },
        },
        response: okResponse('A page of alerts: items, and nextCursor (null on the last page).'),
      },
    },
    async (req) => {
      const q = req.query;
      const state = (q.state ?? 'firing') as AlertStatus | 'all';
      const labels: Record<string, string> = {};
      for (const k of LABEL_FILTERS) if (q[k] !== undefined) labels[k] = q[k];
      const limit = pageLimit(q.limit, ALERT_PAGE.fallback, ALERT_PAGE.max);
      const docs = await alerts.page(
        { labels, ...(state === 'all' ? {} : { state }) },
        q.cursor ? decodeCursor(q.cursor) : null,
        limit + 1,
      );
      const page = docs.slice(0, limit);
      const last = page.at(-1);
      const nextCursor = docs.length > limit && last ? encodeCursor({ at: last.startsAt.getTime(), id: last._id }) : null;
      return { items: page.map(view), nextCursor };
    },
  );

  api.get<{ Params: { fingerprint: string } }>(
    '/v1/alerts/:fingerprint',
    { schema: { params: fingerprintParams, response: { ...okResponse('The alert.'), ...errorResponses(404) } } },
    async (req) => view(await found(req.params.fingerprint)),
  );

  // An operator's two actions on one firing alert, each recorded with who did it.
  const actions = [
    {
      path: 'ack',
      verb: 'acknowledge',
      description: 'Acknowledges a firing alert as the caller: its repeats stop until it resolves and fires again.',
      act: (fingerprint: string, actor: string) => alerts.acknowledge(fingerprint, actor),
    },
    {
      path: 'resolve',
      verb: 'resolve',
      description: 'Resolves a firing alert by hand, as the caller; it fires again only on a later event.',
      act: (fingerprint: string, actor: string) => alerts.resolve(fingerprint, actor),
    },
  ] as const;
  for (const { path, verb, description, act } of actions) {
    api.post<{ Params: { fingerprint: string } }>(
      `/v1/alerts/:fingerprint/${path}`,
      {
        schema: {
          description,
          params: fingerprintParams,
          response: { ...okResponse(`The alert, after: ${verb}.`), ...errorResponses(404, 409) },
        },
      },
      async (req) => {
        const doc = await firing(req.params.fingerprint, verb);
        return view((await act(doc._id, identityOf(req).name)) ?? doc);
      },
    );
  }

  api.get<{ Querystring: { state?: SilenceState | 'all'; limit?: string; cursor?: string } }>(
    '/v1/silences',
    {
      schema: {
        description: 'Silences, the latest created first; every state unless `state` says one.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['active', 'pending', 'expired', 'all'] },
            ...pageQuery(SILENCE_PAGE.max),
          },
        },
        response: okResponse('A page of silences: items, and nextCursor (null on the last page).'),
      },
    },
    async (req) => {
      const now = clock();
      const state = req.query.state === 'all' ? undefined : req.query.state;
      const limit = pageLimit(req.query.limit, SILENCE_PAGE.fallback, SILENCE_PAGE.max);
      const docs = await silences.page(state, now, req.query.cursor ? decodeCursor(req.query.cursor) : null, limit + 1);
      const { docs: page, nextCursor } = pageOf(docs, limit);
      return { items: page.map((d) => silenceView(d, now)), nextCursor };
    },
  );

  api.post<{ Body: SilenceRequest }>(
    '/v1/silences',
    {
      schema: {
        description: 'Creates a silence; every problem with it is named at once (error.problems), and nothing is stored.',
        body: silenceBody,
        response: okResponse('The silence created.', 201),
      },
    },
    async (req, reply) => {
      const now = clock();
      const silence = await silences.add(silenceFromRequest(req.body ?? {}, identityOf(req).name, now));
      return reply.status(201).send(silenceView(silence, now));
    },
  );

  api.delete<{ Params: { id: string } }>(
    '/v1/silences/:id',
    {
      schema: {
        description: 'Expires a silence now (a pending one never starts); an expired one stays as it is.',
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: SILENCE_ID_PATTERN } },
        },
        response: { ...okResponse('The silence, expired.'), ...errorResponses(404) },
      },
    },
    async (req) => {
      const doc = await silences.expire(req.params.id, identityOf(req).name);
      if (!doc) throw new NotFoundError(`no silence has id ${req.params.id}`, { details: { id: req.params.id } });
      return silenceView(doc, clock());
    },
  );

  // What Prometheus sends each alerting.alertmanagers target; refused before the body is read unless from an intake identity.
  api.post<{ Body: PostableAlert[] }>(
    '/api/v2/alerts',
    {
      schema: {
        description:
          "Alertmanager API v2's postAlerts: alerts that fire until their endsAt unless sent again, or resolve (endsAt past). Taken all or none: every problem is named (error.problems). Only the identities of YX_ALERTING_INGEST_IDENTITIES may send.",
        body: postableAlertsSchema,
        response: { ...okResponse('Taken: how many fire and how many resolved.'), ...errorResponses(400, 403) },
      },
      onRequest: async (req) => {
        const who = identityOf(req).name;
        const identities = deps.intake?.identities ?? [];
        if (!identities.includes(who))
          throw new ForbiddenError(
            `${who} may not push alerts; YX_ALERTING_INGEST_IDENTITIES names who may (${identities.join(', ') || 'nobody'})`,
            {
              details: { needs: 'ingest' },
            },
          );
      },
    },
    async (req) => {
      if (!deps.intake) throw new ForbiddenError('no identity may push alerts');
      return await deps.intake.take(req.body, identityOf(req).name);
    },
  );

  // Its own scope: the body stays the raw text the signature is the HMAC of.
  await api.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post<{ Body: string }>(
      '/v1/webhooks/pagerduty',
      {
        schema: {
          description: 'PagerDuty v3 webhooks (incident acknowledged, resolved, unacknowledged), authenticated by X-PagerDuty-Signature.',
          response: { ...okResponse('Taken (or a genuine event with nothing to do).'), ...errorResponses(401) },
        },
      },
      async (req) => {
        const event = parsePagerDutyWebhook(req.body ?? '', req.headers, deps.pagerDuty?.secrets ?? [], clock());
        if (event.kind === 'ignored') return { ok: true, ignored: event.eventType };
        await deps.pagerDuty?.onAction({ action: event.action, dedupKey: event.dedupKey, actor: event.actor });
        return { ok: true, action: event.action, dedupKey: event.dedupKey };
      },
    );
  });
  return api;
}
