// NATS connections and the JetStream streams of the bus contract.
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import {
  AuthorizationError,
  type ConnectionOptions,
  connect,
  jwtAuthenticator,
  type NatsConnection,
  UserAuthenticationExpiredError,
} from '@nats-io/transport-node';
import { UnavailableError, YxError } from '../errors.ts';
import { limits as fieldLimits, streams } from '../gen/catalog.ts';
import { nativeCredsAuthenticator } from './native-keys.ts';

/** TLS to the server: a CA to trust, and a client certificate and key for mutual TLS. */
export interface BusTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface BusOptions {
  servers: string | string[];
  /** Connection name, shown by the server (`nats server report connections`). */
  name: string;
  /** Give up on the first connect after this long; reconnects after that are forever. */
  timeoutMs?: number;
  /**
   * A NATS credentials file's content (user JWT and nkey seed); none: no authentication. A
   * function is read at every (re)connect, so a renewed credential is used from then on.
   */
  creds?: Uint8Array | (() => Uint8Array);
  /** A bearer user JWT (the enrolment identity): no seed, no signature. */
  bearerJwt?: string;
  tls?: BusTls;
  /**
   * Where replies to this connection's requests go; a restricted identity may read only
   * its own (`agentInboxPrefix`, `serviceInboxPrefix` in bus-identities.ts).
   */
  inboxPrefix?: string;
}

/** The server refused the credential (unknown, expired, revoked): retrying will not help. */
export class BusAuthError extends YxError {
  readonly code = 'BUS_AUTH_REFUSED';
  readonly retryable = false;
}

/** The nats.js options for a bus connection: authentication, TLS and the inbox prefix. */
export function connectionOptions(opts: BusOptions): ConnectionOptions {
  const authenticator = opts.creds ? nativeCredsAuthenticator(opts.creds) : opts.bearerJwt ? jwtAuthenticator(opts.bearerJwt) : undefined;
  return {
    servers: opts.servers,
    name: opts.name,
    timeout: opts.timeoutMs ?? 10_000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: false,
    // nats.js otherwise builds an Error per request (and JetStream publish) to keep the
    // caller's stack for a failure: as much of the scheduler's CPU in the tracing
    // benchmark's profiles as all of OpenTelemetry. Failures keep their types and causes.
    noAsyncTraces: true,
    ...(authenticator ? { authenticator } : {}),
    ...(opts.tls ? { tls: { ...opts.tls } } : {}),
    ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
  };
}

export async function connectBus(opts: BusOptions): Promise<NatsConnection> {
  try {
    return await connect(connectionOptions(opts));
  } catch (err) {
    if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) {
      throw new BusAuthError(`NATS at ${String(opts.servers)} refused the credential of ${opts.name}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    throw new UnavailableError(`cannot reach NATS at ${String(opts.servers)}: ${(err as Error).message}`, { cause: err });
  }
}

/** Limits of the contract's streams; the subjects come from the catalog's prefixes. */
export interface StreamLimits {
  replicas: number;
  /** How long step, plan and backup events are kept. */
  eventsMaxAgeMs: number;
  eventsMaxBytes: number;
  /** Logs are bounded: by age, by size, and per subject (one host-run). */
  logsMaxAgeMs: number;
  logsMaxBytes: number;
  logsMaxMsgsPerSubject: number;
  /** Window in which a re-published message id is dropped. */
  duplicateWindowMs: number;
  /**
   * Archive pieces on their way to the backup service: kept until it assembled them (it
   * purges them then), at most this long and this many bytes in all. When full, new
   * pieces are refused, not older ones dropped: an upload fails (and its host is not
   * upgraded), no other host's upload in flight loses a piece.
   */
  uploadsMaxAgeMs: number;
  uploadsMaxBytes: number;
}

export const defaultStreamLimits: StreamLimits = {
  replicas: 1,
  eventsMaxAgeMs: 30 * 24 * 3600_000,
  eventsMaxBytes: 8 * 1024 ** 3,
  logsMaxAgeMs: 14 * 24 * 3600_000,
  logsMaxBytes: 16 * 1024 ** 3,
  logsMaxMsgsPerSubject: 200_000,
  duplicateWindowMs: 10 * 60_000,
  uploadsMaxAgeMs: 24 * 3600_000,
  uploadsMaxBytes: 8 * 1024 ** 3,
};

/** The largest archive piece an agent publishes (BackupChunk.data's limit). */
export const UPLOAD_CHUNK_BYTES = fieldLimits.backupChunk.data;

const ns = (ms: number): number => ms * 1_000_000;

export type NamedStreamConfig = Partial<StreamConfig> & { name: string };

export function streamConfigs(limits: StreamLimits = defaultStreamLimits): NamedStreamConfig[] {
  return [
    {
      name: streams.YX_UPLOADS.name,
      subjects: [...streams.YX_UPLOADS.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: limits.replicas,
      max_age: ns(limits.uploadsMaxAgeMs),
      max_bytes: limits.uploadsMaxBytes,
      // A piece and its envelope (host, backup id, index).
      max_msg_size: UPLOAD_CHUNK_BYTES + 1024,
      duplicate_window: ns(limits.duplicateWindowMs),
      discard: DiscardPolicy.New,
    },
    {
      name: streams.YX_EVENTS.name,
      subjects: [...streams.YX_EVENTS.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: limits.replicas,
      max_age: ns(limits.eventsMaxAgeMs),
      max_bytes: limits.eventsMaxBytes,
      duplicate_window: ns(limits.duplicateWindowMs),
      discard: DiscardPolicy.Old,
    },
    {
      name: streams.YX_LOGS.name,
      subjects: [...streams.YX_LOGS.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: limits.replicas,
      max_age: ns(limits.logsMaxAgeMs),
      max_bytes: limits.logsMaxBytes,
      max_msgs_per_subject: limits.logsMaxMsgsPerSubject,
      duplicate_window: ns(limits.duplicateWindowMs),
      discard: DiscardPolicy.Old,
    },
  ];
}

/** Creates the contract's streams, or updates them to the given limits. Idempotent. */
export async function ensureStreams(nc: NatsConnection, limits: StreamLimits = defaultStreamLimits): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const cfg of streamConfigs(limits)) {
    try {
      await jsm.streams.info(cfg.name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      await jsm.streams.add(cfg);
      continue;
    }
    await jsm.streams.update(cfg.name, cfg);
  }
}
