// The alerting API's one table of who may call what: every route's least role. A route
// missing here stops the API from being built (installApiAuth). Acknowledging, resolving
// and silencing change what on-call is told, so they are an operator's. The PagerDuty
// webhook carries no token: its signature authenticates it (parsePagerDutyWebhook).
// Pushing alerts (Alertmanager's API v2, from Prometheus) needs a viewer, and the API
// takes them only from the identities named in YX_ALERTING_INGEST_IDENTITIES: the roles
// are one ladder shared by every API, and no rung fits a sender of alerts (an operator
// token would let a stolen Prometheus credential start plans).
import type { RouteRoles } from '@yixing/common/http';

export const alertingRouteRoles: RouteRoles = {
  'GET /healthz': 'public',
  'GET /docs/json': 'public',
  'GET /metrics': 'viewer',
  'GET /v1/alerts': 'viewer',
  'GET /v1/alerts/:fingerprint': 'viewer',
  'POST /v1/alerts/:fingerprint/ack': 'operator',
  'POST /v1/alerts/:fingerprint/resolve': 'operator',
  'GET /v1/silences': 'viewer',
  'POST /v1/silences': 'operator',
  'DELETE /v1/silences/:id': 'operator',
  'POST /v1/webhooks/pagerduty': 'public',
  'POST /api/v2/alerts': 'viewer',
};
