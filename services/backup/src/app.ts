// Builds the backup service from injected parts: bus handlers (slot, commit, restore),
// the run-final consumer that starts retention clocks, the retention sweep, and the API.
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  BackupState,
  Bus,
  catalog,
  clip,
  ensureDurable,
  ensureIndexes,
  ensureStreams,
  idPatterns,
  type Logger,
  type Registry,
} from '@yixing/common';
import { decodeCursor, installApiErrors, NEWEST_FIRST, newestFirstAfter, pageLimit, pageOf, pageQuery } from '@yixing/common/http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Connection } from 'mongoose';
import { type BackupConfig, BackupRefusedError, BackupService } from './backup.service.ts';
import { type BackupDoc, backupModel } from './catalog/backup.model.ts';
import { CommitLeases } from './catalog/commit-lease.model.ts';
import type { Keys } from './crypto/key-ring.ts';
import type { ArchiveStorage } from './storage/archive-storage.ts';
import { ObjectStoreStorage } from './storage/object-store.storage.ts';

export interface BackupAppDeps {
  conn: Connection;
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
  clock: () => number;
  keys: Keys;
  config: BackupConfig & { sweepIntervalMs: number };
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

const view = (d: BackupDoc) => ({
  id: d._id,
  hostId: d.hostId,
  runId: d.runId,
  planId: d.planId,
  paths: d.paths,
  state: d.state,
  reason: d.reason,
  sizeBytes: d.sizeBytes,
  storedBytes: d.storedBytes,
  sha256: d.sha256,
  encrypted: d.keyId !== null,
  keyId: d.keyId,
  osRelease: d.osRelease,
  packageCount: d.packageCount,
  createdAt: d.createdAt,
  verifiedAt: d.verifiedAt,
  runFinalAt: d.runFinalAt,
  expiresAt: d.expiresAt,
});

export async function buildBackupApp(deps: BackupAppDeps): Promise<BackupApp> {
  const { nc, log, registry, config } = deps;
  const model = backupModel(deps.conn);
  await ensureIndexes(deps.conn);
  await ensureStreams(nc);
  const js = jetstream(nc, { timeout: 60_000 });
  const os = await new Objm(js).create(config.bucket, { description: 'Yixing backups' });
  const objects = new ObjectStoreStorage(os, js, config.bucket);
  const storage = deps.wrapStorage ? deps.wrapStorage(objects) : objects;
  const bus = new Bus({ nc, log, registry });
  const service = new BackupService({
    model,
    leases: new CommitLeases(deps.conn),
    storage,
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

  const api = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } });
  // Each error's own status: a refusal 409, an unknown id 404, a store that did not answer 503.
  installApiErrors(api, { service: 'backup service' });
  const idParams = {
    type: 'object',
    required: ['id'],
    additionalProperties: false,
    properties: { id: { type: 'string', pattern: '^b-[0-9]{8}-[0-9a-f]{12}$' } },
  } as const;
  api.get('/healthz', async () => ({ ok: true }));
  api.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  api.get<{ Querystring: { hostId?: string; planId?: string; state?: string; limit?: string; cursor?: string } }>(
    '/v1/backups',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hostId: { type: 'string', pattern: idPatterns.hostId },
            planId: { type: 'string', pattern: idPatterns.planId },
            state: { type: 'string', enum: ['uploading', 'verified', 'failed', 'deleted', 'expired'] },
            ...pageQuery(1000),
          },
        },
      },
    },
    async (req) => {
      const filter: Record<string, unknown> = req.query.cursor ? newestFirstAfter(decodeCursor(req.query.cursor)) : {};
      for (const k of ['hostId', 'planId', 'state'] as const) if (req.query[k]) filter[k] = req.query[k] as string;
      const limit = pageLimit(req.query.limit, 200, 1000);
      const found = await model
        .find(filter, { packages: 0 })
        .sort({ ...NEWEST_FIRST })
        .limit(limit + 1)
        .lean<BackupDoc[]>();
      const { docs, nextCursor } = pageOf(found, limit);
      return { items: docs.map(view), nextCursor };
    },
  );
  api.get<{ Params: { id: string } }>('/v1/backups/:id', { schema: { params: idParams } }, async (req) => {
    const doc = await service.get(req.params.id);
    return { ...view(doc), packages: doc.packages };
  });
  api.post<{ Params: { id: string } }>('/v1/backups/:id/verify', { schema: { params: idParams } }, async (req) => {
    const r = await service.verify(req.params.id);
    return { ok: r.ok, reason: r.reason, backup: view(r.doc) };
  });
  api.delete<{ Params: { id: string } }>('/v1/backups/:id', { schema: { params: idParams } }, async (req) =>
    view(await service.delete(req.params.id)),
  );

  return {
    service,
    api,
    async start() {
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
              .then((doc) =>
                d.respond({ backupId: doc._id, bucket: config.bucket, objectName: doc.stagingObject, accepted: true, reason: '' }),
              )
              .catch((err: Error) =>
                d.respond({
                  backupId: 'none',
                  bucket: '',
                  objectName: '',
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
              .get(m.backupId)
              .then((doc) =>
                doc.hostId === m.hostId
                  ? d.respond({
                      backupId: doc._id,
                      state: STATE[doc.state],
                      reason: clip('backupStatus', 'reason', doc.reason),
                      sha256: doc.sha256,
                    })
                  : d.respond({
                      backupId: m.backupId,
                      state: BackupState.FAILED,
                      reason: clip('backupStatus', 'reason', `backup ${m.backupId} belongs to another host`),
                    }),
              )
              // Unknown to the catalog: no verified backup. Anything else: ask again later.
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
                  bucket: config.bucket,
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
      );
      // Run ends start the retention clock; one durable consumer, acked after the write.
      const consumer = await ensureDurable(nc, catalog.runFinished.stream, {
        name: 'yx-backup-runs',
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
            await service.runFinished(decoded.message.runId, decoded.message.atMs || deps.clock());
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
      await api.close();
    },
  };
}
