// Who may say what on the bus: the permissions of each identity, derived from the
// catalog's routes, which nats-server enforces (NATS decentralized JWT auth). Agents'
// permissions are a template of the account's scoped signing key ({{name()}} is the
// user JWT's name, the host id), so 300,000 agents need no server configuration each.
import { catalog, streams } from '../gen/catalog.ts';
import type { RouteName } from './codec.ts';

/** A NATS permission set as a user JWT (or a scoped signing key's template) carries it. */
export interface BusPermissions {
  pub: { allow: string[]; deny?: string[] };
  sub: { allow: string[]; deny?: string[] };
  /** May answer the requests it received (one reply each, within ttl), whatever their reply subject. */
  resp?: { max: number; ttl: number };
}

/** The template tag that nats-server fills with the user JWT's name: the host id. */
export const HOST_TEMPLATE = '{{name()}}';

/** Services and tools each with their own credential in the fleet account. */
export const SERVICE_IDENTITIES = ['scheduler', 'backup', 'alerting', 'enroller'] as const;
export type ServiceIdentity = (typeof SERVICE_IDENTITIES)[number];

/**
 * Inbox prefixes, one per identity, so a reply can be read only by whoever asked:
 * `_INBOX.h.<host>` for an agent, `_INBOX.s.<service>` for a service. The kind token keeps
 * an agent named like a service from reading the service's replies.
 */
export const agentInboxPrefix = (hostId: string): string => `_INBOX.h.${hostId}`;
export const serviceInboxPrefix = (service: string): string => `_INBOX.s.${service}`;
/** The enrolment account holds only unenrolled hosts; its inboxes are its own. */
export const ENROL_INBOX_PREFIX = '_INBOX.e';

/** A route's subject with its tokens filled as given (the rest `*`); values are not checked. */
export function routeSubject(name: RouteName, tokens: Record<string, string> = {}): string {
  const route = catalog[name];
  let i = 0;
  return route.subject.replace(/\{[a-z0-9_]+\}/g, () => tokens[route.tokens[i++] as string] ?? '*');
}

const ownHost = (name: RouteName): string => routeSubject(name, { hostId: HOST_TEMPLATE });

/** What an agent publishes, each only with its own host id in the subject. */
export const AGENT_PUBLISHES = [
  'agentRegistration',
  'heartbeat',
  'stepEvent',
  'logLine',
  'backupSlotRequest',
  'backupChunk',
  'backupCommit',
  'backupStatusRequest',
  'restoreRequest',
  'restoreChunkRequest',
  'credentialRenewal',
] as const satisfies readonly RouteName[];

/** One reply to each command, within a minute (nanoseconds, as the JWT counts). */
const ONE_REPLY = { max: 1, ttl: 60_000_000_000 };
/**
 * A service's one reply may take longer: the backup service answers a commit after it has
 * read and verified the whole archive (agents wait up to 5 minutes for it); a reply later
 * than its permission would be dropped by the server, and the agent would ask again.
 */
const ONE_SLOW_REPLY = { max: 1, ttl: 600_000_000_000 };

/**
 * The agents' template: publish only their own registration, heartbeat, step events, logs,
 * archive pieces and backup requests; subscribe only to their own commands and inbox. No
 * JetStream API: an agent cannot read, purge or delete any stream or bucket (a JetStream
 * publish needs none; its acknowledgement comes to the inbox). Backups go through the
 * backup service: pieces published on the agent's own upload subject, restores read
 * piece by piece by request, so no agent can read or write another host's backup.
 */
export function agentPermissionTemplate(): BusPermissions {
  return {
    pub: { allow: AGENT_PUBLISHES.map(ownHost) },
    sub: { allow: [ownHost('agentCommand'), `${agentInboxPrefix(HOST_TEMPLATE)}.>`] },
    resp: ONE_REPLY,
  };
}

/** JetStream API subjects to read a stream through consumers (create, info, fetch, ack, delete). */
function consumeStream(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.CONSUMER.*.${stream}`,
    `$JS.API.CONSUMER.*.${stream}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.ACK.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}

/** JetStream API subjects to create and update a stream's configuration. */
const manageStream = (stream: string): string[] => [`$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`];

const contractStreams = Object.values(streams).map((s) => s.name);
/** Archive pieces are for the backup service alone: no other identity reads them. */
const uploadsStream = catalog.backupChunk.stream;
const filters = (...names: RouteName[]): string[] => names.map((n) => catalog[n].filter);

/** The Object Store's stream and subjects of a bucket (`@nats-io/obj` naming). */
export function objectStoreSubjects(bucket: string): { stream: string; subjects: string } {
  return { stream: `OBJ_${bucket}`, subjects: `$O.${bucket}.>` };
}

/** The alerting service's notification log (a KV bucket): what each receiver was last told. */
export const ALERT_LOG_BUCKET = 'yx_alert_log';

/** Leader leases (a KV bucket, one key per service): see lease/leader-lease.ts. */
export const LEASE_BUCKET = 'yx_leases';

/** A KV bucket's stream and subjects (`@nats-io/kv` naming). */
export function kvSubjects(bucket: string): { stream: string; subjects: string } {
  return { stream: `KV_${bucket}`, subjects: `$KV.${bucket}.>` };
}

/** The backup service's Object Store bucket unless configured otherwise (YX_BACKUP_BUCKET). */
export const DEFAULT_BACKUP_BUCKET = 'yx_backups';

export interface ServicePermissionOptions {
  /** The backup service's Object Store bucket. */
  backupBucket: string;
}

/** Each service's least privilege, by what its code publishes, requests and consumes. */
export function servicePermissions(service: ServiceIdentity, opts: ServicePermissionOptions): BusPermissions {
  const inbox = `${serviceInboxPrefix(service)}.>`;
  switch (service) {
    case 'scheduler': {
      const leases = kvSubjects(LEASE_BUCKET);
      return {
        pub: {
          allow: [
            ...filters('agentCommand', 'backupStatusRequest', 'planEvent', 'runFinished', 'hostRunEvent', 'operationEvent'),
            '$JS.API.INFO',
            // Its replicas' leader lease: created by the first, read and written (compare-and-swap) by each.
            ...manageStream(leases.stream),
            ...consumeStream(leases.stream),
            leases.subjects,
            // It keeps every contract stream as configured, and reads all but the archive pieces.
            ...contractStreams.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, ...manageStream(s)]),
            ...contractStreams.filter((s) => s !== uploadsStream).flatMap(consumeStream),
          ],
        },
        sub: { allow: [...filters('agentRegistration', 'heartbeat', 'stepEvent'), inbox] },
        resp: ONE_SLOW_REPLY,
      };
    }
    case 'backup': {
      const obj = objectStoreSubjects(opts.backupBucket);
      return {
        pub: {
          allow: [
            ...filters('backupEvent'),
            '$JS.API.INFO',
            ...contractStreams.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, ...manageStream(s)]),
            ...consumeStream(catalog.runFinished.stream),
            // Assembles an upload from its pieces, then drops them.
            ...consumeStream(uploadsStream),
            `$JS.API.STREAM.PURGE.${uploadsStream}`,
            ...manageStream(obj.stream),
            ...consumeStream(obj.stream),
            `$JS.API.STREAM.PURGE.${obj.stream}`,
            obj.subjects,
          ],
        },
        sub: {
          allow: [...filters('backupSlotRequest', 'backupCommit', 'backupStatusRequest', 'restoreRequest', 'restoreChunkRequest'), inbox],
        },
        resp: ONE_SLOW_REPLY,
      };
    }
    case 'enroller':
      // Enrolment requests arrive through the enrolment account's import; the enroller
      // answers them and nothing else (it pushes revocations as the registrar).
      return {
        pub: { allow: [], deny: ['>'] },
        sub: { allow: [...filters('enrolRequest', 'credentialRenewal'), inbox] },
        resp: ONE_SLOW_REPLY,
      };
    case 'alerting': {
      const nflog = kvSubjects(ALERT_LOG_BUCKET);
      return {
        // Reads events, the failed step's last log lines and the scheduler's consumer (is it
        // there, is it behind); publishes what it notified.
        pub: {
          allow: [
            ...filters('alertNotification'),
            '$JS.API.INFO',
            // Like the scheduler and the backup service, it may start first: it keeps the contract streams too.
            ...contractStreams.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, ...manageStream(s)]),
            ...consumeStream(catalog.stepEvent.stream),
            ...consumeStream(catalog.logLine.stream),
            // The notification log: created and updated by the service, read and watched by every replica.
            ...manageStream(nflog.stream),
            ...consumeStream(nflog.stream),
            nflog.subjects,
          ],
        },
        sub: { allow: [inbox] },
      };
    }
  }
}

/** The enrolment identity: ask for enrolment, read its own account's inboxes; nothing else. */
export function enrolPermissions(): BusPermissions {
  return { pub: { allow: [catalog.enrolRequest.filter] }, sub: { allow: [`${ENROL_INBOX_PREFIX}.>`] } };
}

/** The registrar (system account): look up and push account JWTs, for revocations. */
export const REGISTRAR_INBOX_PREFIX = '_INBOX.s.registrar';
export function registrarPermissions(): BusPermissions {
  return {
    pub: { allow: ['$SYS.REQ.CLAIMS.UPDATE', '$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE', '$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP'] },
    sub: { allow: [`${REGISTRAR_INBOX_PREFIX}.>`] },
  };
}
