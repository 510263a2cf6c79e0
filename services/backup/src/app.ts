// Builds the backup service from injected parts: bus handlers (slot, commit, restore and
// its pieces), the run-final consumer that starts retention clocks, the retention sweep,
// and the API.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm, setSha256Backend } from '@nats-io/obj';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  BackupState,
  Bus,
  catalog,
  clip,
  defaultStreamLimits,
  durableNames,
  ensureDurable,
  ensureIndexes,
  ensureStreams,
  isYxError,
  type Logger,
  type Registry,
} from '@yixing/common';
import type { ApiAccess } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';
import { buildBackupApi } from './api/backup.routes.ts';
import { type BackupConfig, BackupRefusedError, BackupService } from './backup.service.ts';
import { type BackupDoc, backupModel } from './catalog/backup.model.ts';
import { CommitLeases } from './catalog/commit-lease.model.ts';
import type { Keys } from './crypto/key-ring.ts';
import type { ArchiveStorage } from './storage/archive-storage.ts';
import { ObjectStoreStorage } from './storage/object-store.storage.ts';
import { JetStreamUploads } from './storage/upload-pieces.ts';

export interface BackupAppDeps {
  conn: Connection;
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
  clock: () => number;
  keys: Keys;
  /** `streamReplicas`: of the contract's streams and the bucket (YX_STREAM_REPLICAS, as the scheduler has it). */
  config: BackupConfig & { sweepIntervalMs: number; streamReplicas?: number };
  /** Who may call the API: authentication, rate limits and, when set, TLS. */
  access: ApiAccess;
  /** Wraps the Object Store storage (bucket `config.bucket`): decorators, fault injection. */
  wrapStorage?: (store: ArchiveStorage) => ArchiveStorage;
}

export interface BackupApp {
  service: BackupService;
  api: FastifyInstance;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const STATE: Record<BackupDoc['state'], BackupState> = {
  uploading: BackupState.UPLOADING,
  verified: BackupState.VERIFIED,
  failed: BackupState.FAILED,
  deleted: BackupState.DELETED,
  expired: BackupState.EXPIRED,
};

export async function buildBackupApp(deps: BackupAppDeps): Promise<BackupApp> {
  // Node's SHA-256 for the Object Store's digests, not the client's JavaScript one (the
  // default, for browsers): measured, a 512 MiB write took 20 s with it and 6 s without.
  setSha256Backend('native');
  const { nc, log, registry, config } = deps;
  const model = backupModel(deps.conn);
  await ensureIndexes(deps.conn);
  const replicas = config.streamReplicas ?? 1;
  await ensureStreams(nc, { ...defaultStreamLimits, replicas });
  const js = jetstream(nc, { timeout: 60_000 });
  const os = await new Objm(js).create(config.bucket, { description: 'Yixing backups', replicas });
  const objects = new ObjectStoreStorage(os, js, config.bucket);
  const storage = deps.wrapStorage ? deps.wrapStorage(objects) : objects;
  const bus = new Bus({ nc, log, registry });
  const service = new BackupService({
    model,
    leases: new CommitLeases(deps.conn),
    storage,
    uploads: new JetStreamUploads(js, await jetstreamManager(nc, { timeout: 60_000 })),
    bus,
    log,
    registry,
    clock: deps.clock,
    keys: deps.keys,
    config,
  });
  const subs: Subscription[] = [];
  let sweep: NodeJS.Timeout | undefined;
  let consumerLoop: Promise<void> | undefined;
  let closeConsumer: (() => Promise<void>) | undefined;

  const api = await buildBackupApi({ service, model, registry, access: deps.access });

  return {
    service,
    api,
    async start() {
      await service.start(); // what the catalogue adds up to, before any request changes it
      subs.push(
        bus.subscribe(
          'backupSlotRequest',
          {},
          (m, d) => {
            service
              .slot({
                hostId: m.hostId,
                runId: m.runId,
                planId: m.planId,
                paths: m.paths,
                sizeBytes: m.sizeBytes,
                sha256: m.sha256,
                manifestSha256: m.manifestSha256,
              })
              .then((doc) => {
                d.respond({ backupId: doc._id, accepted: true, reason: '' });
                service.follow(doc); // verified as its pieces arrive
              })
              .catch((err: Error) =>
                d.respond({
                  backupId: 'none',
                  accepted: false,
                  reason: clip('backupSlot', 'reason', err.message),
                  retryable: !(err instanceof BackupRefusedError),
                }),
              );
          },
          { queue: 'yx-backup' },
        ),
        bus.subscribe(
          'backupCommit',
          {},
          (m, d) => {
            service
              .commit(m.hostId, m.backupId)
              .then((doc) =>
                d.respond({
                  backupId: doc._id,
                  state: STATE[doc.state],
                  reason: clip('backupStatus', 'reason', doc.reason),
                  sha256: doc.sha256,
                }),
              )
              // Refused: failed. Anything else (the store or database did not answer): still
              // uploading, and the agent commits again.
              .catch((err: Error) =>
                d.respond({
                  backupId: m.backupId,
                  state: err instanceof BackupRefusedError ? BackupState.FAILED : BackupState.UPLOADING,
                  reason: clip('backupStatus', 'reason', err.message),
                }),
              );
          },
          { queue: 'yx-backup' },
        ),
        bus.subscribe(
          'backupStatusRequest',
          {},
          (m, d) => {
            service
              .getFor(m.hostId, m.backupId)
              .then((doc) =>
                d.respond({
                  backupId: doc._id,
                  state: STATE[doc.state],
                  reason: clip('backupStatus', 'reason', doc.reason),
                  sha256: doc.sha256,
                }),
              )
              // Unknown to the catalog or another host's: no verified backup. Anything else: ask again later.
              .catch((err: Error) =>
                d.respond({
                  backupId: m.backupId,
                  state: err instanceof BackupRefusedError ? BackupState.FAILED : BackupState.UNSPECIFIED,
                  reason: clip('backupStatus', 'reason', err.message),
                }),
              );
          },
          { queue: 'yx-backup' },
        ),
        bus.subscribe(
          'restoreRequest',
          {},
          (m, d) => {
            service
              .restore(m.hostId, m.backupId)
              .then((g) =>
                d.respond({
                  backupId: m.backupId,
                  objectName: g.object,
                  sha256: g.sha256,
                  sizeBytes: g.sizeBytes,
                  granted: true,
                  reason: '',
                }),
              )
              .catch((err: Error) =>
                d.respond({
                  backupId: m.backupId,
                  granted: false,
                  reason: clip('restoreGrant', 'reason', err.message),
                  retryable: !(err instanceof BackupRefusedError),
                }),
              );
          },
          { queue: 'yx-backup' },
        ),
        bus.subscribe(
          'restoreChunkRequest',
          {},
          (m, d) => {
            service
              .readPiece(m.hostId, m.backupId, m.objectName, m.cursor)
              .then((p) => d.respond({ data: p.data, nextCursor: p.next, reason: '' }))
              .catch((err: Error) =>
                d.respond({
                  reason: clip('restoreChunk', 'reason', err.message) || 'refused',
                  retryable: isYxError(err) ? err.retryable : true,
                }),
              );
          },
          { queue: 'yx-backup' },
        ),
      );
      // Run ends start the retention clock; one durable consumer, acked after the write.
      const consumer = await ensureDurable(nc, catalog.runFinished.stream, {
        name: durableNames.backupRuns,
        filterSubjects: [catalog.runFinished.filter],
      });
      const messages = await consumer.consume({ max_messages: 100 });
      closeConsumer = async () => void (await messages.close());
      consumerLoop = (async () => {
        for await (const msg of messages) {
          const decoded = bus.decodeStored(msg);
          if (!decoded) continue; // counted and terminated by decodeStored
          if (decoded.name !== 'runFinished') {
            msg.term();
            continue;
          }
          try {
            const { hostId, runId, atMs } = decoded.message;
            await service.runFinished({ hostId, runId, atMs });
            msg.ack();
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'run-final event not applied, redelivering');
            msg.nak(1_000);
          }
        }
      })();
      sweep = setInterval(() => {
        service.sweep().catch((err: Error) => log.warn({ err: err.message }, 'sweep failed'));
      }, config.sweepIntervalMs);
      sweep.unref();
    },
    async stop() {
      clearInterval(sweep);
      for (const s of subs) s.unsubscribe();
      await closeConsumer?.();
      await consumerLoop;
      await service.stop();
      await api.close();
    },
  };
}
