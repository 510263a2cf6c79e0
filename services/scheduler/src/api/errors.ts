// The scheduler API's errors: the shared handler (@yixing/common/http) answers with each
// error's own status; NotFoundError is common's, re-exported for the routes.
import { YxError } from '@yixing/common';

export { NotFoundError } from '@yixing/common';

/** A query whose fields are each valid but do not go together: a 400 naming the field. */
export class QueryInvalidError extends YxError {
  readonly code = 'VALIDATION_FAILED';
  readonly retryable = false;
  override readonly httpStatus = 400;

  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`, { details: { field, reason } });
  }
}
