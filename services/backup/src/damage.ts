// Telling damage (the stored or uploaded bytes are to blame: the backup fails) from a
// store that did not answer (nothing is failed; the caller asks again).
import { CorruptObjectError, ObjectMissingError } from '@yixing/common';
import { SealedStreamError } from './crypto/sealed-stream.ts';
import { BackupStoreUnavailableError } from './errors.ts';
import { RestoreMismatchError } from './restore/restore-reads.ts';
import { UploadPiecesError } from './storage/upload-pieces.ts';

/** What the stored bytes themselves are to blame for; anything else is not the backup's fault. */
export const isDamage = (err: unknown): boolean =>
  err instanceof CorruptObjectError ||
  err instanceof ObjectMissingError ||
  err instanceof SealedStreamError ||
  err instanceof UploadPiecesError ||
  err instanceof RestoreMismatchError;

export const firstLine = (err: unknown): string => (err as Error).message.split('\n')[0] as string;

/** A store error that is not damage, as the retryable error callers see. */
export const unavailable = (what: string, err: unknown): BackupStoreUnavailableError =>
  new BackupStoreUnavailableError(`${what} could not be read just now (${firstLine(err)}); try again`);
