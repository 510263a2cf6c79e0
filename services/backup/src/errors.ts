// The backup service's errors, each with the HTTP status its API answers with.
import { YxError } from '@yixing/common';

/** The service will not do this (quota, state, another host's backup): asking again will not help. */
export class BackupRefusedError extends YxError {
  readonly code: string = 'BACKUP_REFUSED';
  readonly retryable = false;
  override readonly httpStatus: number = 409;
}

/** No backup has this id. Still a refusal: callers that treat refusals as final keep doing so. */
export class BackupNotFoundError extends BackupRefusedError {
  override readonly code: string = 'NOT_FOUND';
  override readonly httpStatus: number = 404;
}

/**
 * A host asked about, committed or restored a backup the catalog holds for another host.
 * The host is the one of the request's subject, which the broker lets only that host's
 * identity publish on: a backup is never restored onto a host it was not made of.
 */
export class BackupOfAnotherHostError extends BackupRefusedError {
  override readonly code: string = 'BACKUP_OF_ANOTHER_HOST';
  override readonly httpStatus: number = 403;
}

/** The store could not be read or written just now (timeout, no server): try again. */
export class BackupStoreUnavailableError extends YxError {
  readonly code = 'BACKUP_STORE_UNAVAILABLE';
  readonly retryable = true;
  override readonly httpStatus = 503;
}
