// The scheduler API's one table of who may call what: every route's least role. A route
// missing here stops the API from being built (installApiAuth); route-roles.test.ts checks
// the table against the routes both ways.
import type { RouteRoles } from '@yixing/common/http';

export const schedulerRouteRoles: RouteRoles = {
  'GET /healthz': 'public',
  // The API's description is no secret; what it describes is behind the roles below.
  'GET /docs/json': 'public',
  'GET /metrics': 'viewer',
  'GET /v1/whoami': 'viewer',
  'GET /v1/plans': 'viewer',
  'GET /v1/plans/:planId': 'viewer',
  'GET /v1/plans/:planId/hosts': 'viewer',
  'GET /v1/plans/:planId/events': 'viewer',
  'GET /v1/plans/:planId/assessment': 'viewer',
  'GET /v1/plans/:planId/assessment/hosts': 'viewer',
  'POST /v1/plans': 'operator',
  'POST /v1/plans/:planId/pause': 'operator',
  'POST /v1/plans/:planId/resume': 'operator',
  'POST /v1/plans/:planId/approve': 'operator',
  'POST /v1/plans/:planId/retry-failed': 'operator',
  'POST /v1/plans/:planId/abort': 'operator',
  'POST /v1/plans/:planId/hosts/:hostId/exclude': 'operator',
  'POST /v1/plans/:planId/hosts/:hostId/rollback': 'operator',
  'POST /v1/plans/:planId/hosts/:hostId/retry': 'operator',
  'GET /v1/hosts': 'viewer',
  'GET /v1/hosts/:hostId': 'viewer',
  'GET /v1/hosts/:hostId/logs': 'viewer',
  'GET /v1/inventory/summary': 'viewer',
  'GET /v1/audit': 'viewer',
  'POST /v1/hosts/:hostId/operations': 'operator',
  'GET /v1/operations': 'viewer',
  'GET /v1/operations/:operationId': 'viewer',
  'GET /v1/assessment': 'viewer',
  'GET /v1/assessment/hosts': 'viewer',
};
