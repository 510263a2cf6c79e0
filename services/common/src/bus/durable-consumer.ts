// The one way a service gets its durable pull consumer on a contract stream: created when
// missing, updated when it exists, so a changed filter or limit in a new release takes
// effect on the running consumer (and its acknowledged position is kept).
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { streams } from '../gen/catalog.ts';

export type StreamName = keyof typeof streams;

/**
 * The durable consumers other services look at, by their owner: alerting watches the
 * scheduler's (a scheduler pulling from it is alive; its backlog is the scheduler's lag).
 */
export const durableNames = {
  schedulerSteps: 'yx-scheduler-steps',
  backupRuns: 'yx-backup-runs',
  alertingEvents: 'yx-alerting-events',
  schedulerOperationCallbacks: 'yx-scheduler-op-callbacks',
} as const;

/**
 * How long each pull of a durable consumer's `consume()` lasts. Its idle heartbeat is half
 * of it, and a pull parked on a consumer leader that died (a cluster node lost while this
 * connection stays up) is re-issued only after two missed heartbeats: with nats.js's 30 s
 * the service stops hearing events for 30 s at every such failover; with 5 s, 5 s.
 */
export const DURABLE_PULL_EXPIRES_MS = 5_000;

export interface DurableSpec extends Partial<Omit<ConsumerConfig, 'durable_name' | 'filter_subject' | 'filter_subjects'>> {
  /** Durable name; one consumer however many replicas of the service pull from it. */
  name: string;
  /** Subjects it consumes: catalog filters (`catalog.x.filter`) or `subjectPattern(...)`. */
  filterSubjects: readonly string[];
}

const isCode = (err: unknown, ...codes: number[]): boolean => err instanceof JetStreamApiError && codes.includes(err.code);

/** The server's "consumer already exists" and "consumer name already in use" (nats-server errors). */
const CONSUMER_EXISTS = [10148, 10013];

/** Creates or updates the durable pull consumer and returns it for consume()/fetch(). */
export async function ensureDurable(nc: NatsConnection, stream: StreamName, spec: DurableSpec): Promise<Consumer> {
  const { name, filterSubjects, ...rest } = spec;
  const config: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...rest,
    durable_name: name,
    filter_subjects: [...filterSubjects],
  };
  const jsm = await jetstreamManager(nc);
  const exists = await jsm.consumers.info(streams[stream].name, name).then(
    () => true,
    (err: unknown) => {
      if (isCode(err, JetStreamApiCodes.ConsumerNotFound)) return false;
      throw err;
    },
  );
  const update = () => jsm.consumers.update(streams[stream].name, name, config);
  if (exists) {
    await update();
  } else {
    // Another replica may create it first: the server accepts an identical config as is;
    // one of another release is updated, as if it had been there.
    await jsm.consumers.add(streams[stream].name, config).catch(async (err: unknown) => {
      if (!isCode(err, ...CONSUMER_EXISTS)) throw err;
      return await update();
    });
  }
  return await jetstream(nc).consumers.get(streams[stream].name, name);
}
