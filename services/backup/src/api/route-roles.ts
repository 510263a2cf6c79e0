// The backup API's one table of who may call what: every route's least role. A route
// missing here stops the API from being built (installApiAuth). Deleting a backup
// destroys what a rollback would need, so it is an admin's.
import type { RouteRoles } from '@yixing/common/http';

export const backupRouteRoles: RouteRoles = {
  'GET /healthz': 'public',
  'GET /metrics': 'viewer',
  'GET /v1/backups': 'viewer',
  'GET /v1/backups/:id': 'viewer',
  'POST /v1/backups/:id/verify': 'operator',
  'DELETE /v1/backups/:id': 'admin',
};
