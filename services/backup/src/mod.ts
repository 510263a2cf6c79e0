// Public surface of @yixing/backup, for tests that build it in process.
export { type BackupApp, buildBackupApp } from './app.ts';
export { type BackupConfig, BackupService } from './backup.service.ts';
export { type KeySettings, type Keys, loadKeys } from './crypto/key-ring.ts';
export { parseKey, type SealingKey } from './crypto/sealed-stream.ts';
export { BackupNotFoundError, BackupOfAnotherHostError, BackupRefusedError, BackupStoreUnavailableError } from './errors.ts';
export type { ArchiveStorage, StoredObject } from './storage/archive-storage.ts';
