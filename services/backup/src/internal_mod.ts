// Internal surface of @yixing/backup (`@yixing/backup/internal`), for the tests in tests/
// that read its catalog or use its storage directly.

export type { BackupDoc } from './catalog/backup.model.ts';
export * from './mod.ts';
export { ObjectStoreStorage } from './storage/object-store.storage.ts';
