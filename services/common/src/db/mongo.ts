// MongoDB (or FerretDB) through mongoose. One connection object per service, created by
// main.ts and injected: no use of mongoose's global default connection.
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import mongoose, { type AnyBulkWriteOperation, type Connection, type Model, type UpdateQuery } from 'mongoose';
import { StaleWriteError, UnavailableError } from '../errors.ts';
import { Histogram, type Registry } from '../metrics.ts';
import { tracer } from '../telemetry/trace-context.ts';

export interface DbOptions {
  uri: string;
  /** Application name reported to the server, for its logs. */
  appName: string;
  serverSelectionTimeoutMs?: number;
  /**
   * Most requests in flight at once. FerretDB v1 (SQLite) deadlocks when about 50
   * findAndModify/update requests run at once: each holds one of its 100 SQLite
   * connections for the read and waits for a second one for the write. 10 keeps it well
   * below that; a MongoDB replica set takes more (YX_MONGO_POOL).
   */
  maxPoolSize?: number;
  /** Where to count each command's duration (yx_db_command_seconds); none without. */
  registry?: Registry;
}

export async function connectDb(opts: DbOptions): Promise<Connection> {
  const conn = mongoose.createConnection(opts.uri, {
    // The driver's command events time every command for yx_db_command_seconds and
    // make its span in a trace.
    monitorCommands: true,
    appName: opts.appName,
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMs ?? 10_000,
    maxPoolSize: opts.maxPoolSize ?? 10,
    // Indexes are created explicitly by each service at start (see ensureIndexes).
    autoIndex: false,
    autoCreate: true,
  });
  try {
    await conn.asPromise();
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw new UnavailableError(`cannot reach the database at ${redact(opts.uri)}: ${(err as Error).message}`, { cause: err });
  }
  if (opts.registry) timeCommands(conn, opts.registry);
  traceCommands(conn);
  return conn;
}

/** Commands the services send, by name; any other counts as `other` (the label stays bounded). */
const COMMANDS = new Set([
  'find',
  'getMore',
  'insert',
  'update',
  'delete',
  'findAndModify',
  'aggregate',
  'count',
  'distinct',
  'createIndexes',
]);

function timeCommands(conn: Connection, registry: Registry): void {
  const seconds = new Histogram({
    name: 'yx_db_command_seconds',
    help: 'Database commands by name (find, insert, update, findAndModify, …) and outcome (ok, error)',
    labelNames: ['command', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const observe = (e: { commandName: string; duration: number }, outcome: 'ok' | 'error'): void => {
    seconds.observe({ command: COMMANDS.has(e.commandName) ? e.commandName : 'other', outcome }, e.duration / 1000);
  };
  const client = conn.getClient();
  client.on('commandSucceeded', (e) => observe(e, 'ok'));
  client.on('commandFailed', (e) => observe(e, 'error'));
}

/** The collection a command names (`{find: "plans", …}`), if it names one. */
export function commandCollection(commandName: string, command: Record<string, unknown>): string | undefined {
  const target = command[commandName];
  return typeof target === 'string' ? target : undefined;
}

/** The server that ran a command (the event's `host:port`, a replica set's member) as span attributes. */
export function serverOf(address: string): { 'server.address'?: string; 'server.port'?: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) return address ? { 'server.address': address } : {};
  return { 'server.address': address.slice(0, colon), 'server.port': port };
}

/** The first write error a command's reply carries, as a span failure; undefined when none. */
export function writeFailure(reply: unknown): string | undefined {
  const errors = (reply as { writeErrors?: { code?: number; errmsg?: string }[] } | undefined)?.writeErrors;
  const first = Array.isArray(errors) ? errors[0] : undefined;
  return first ? `write error ${first.code ?? '?'}: ${first.errmsg ?? ''}`.trim() : undefined;
}

/**
 * A client span per database command made inside traced work (an API request, a step
 * event of a host-run), the child of that work's span. Commands outside any trace (a
 * service's periodic loops) make none: a root trace per query would bury the rest.
 * Written on the driver's command events rather than with
 * @opentelemetry/instrumentation-mongodb, which patches the driver as it is first
 * required: our services import mongoose before tracing starts, so the patch never lands.
 */
function traceCommands(conn: Connection): void {
  const open = new Map<number, Span>();
  const client = conn.getClient();
  client.on('commandStarted', (e) => {
    const parent = trace.getSpan(context.active());
    if (!parent?.isRecording()) return;
    const collection = commandCollection(e.commandName, e.command as Record<string, unknown>);
    const span = tracer().startSpan(collection ? `${e.commandName} ${collection}` : e.commandName, {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'mongodb',
        'db.namespace': e.databaseName,
        'db.operation.name': e.commandName,
        ...(collection ? { 'db.collection.name': collection } : {}),
        ...serverOf(e.address),
      },
    });
    open.set(e.requestId, span);
  });
  const end = (e: { requestId: number }, failure?: string): void => {
    const span = open.get(e.requestId);
    if (!span) return;
    open.delete(e.requestId);
    if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    span.end();
  };
  // A refused write (a duplicate key) is a succeeded command that carries writeErrors.
  client.on('commandSucceeded', (e) => end(e, writeFailure(e.reply)));
  client.on('commandFailed', (e) => end(e, e.failure.message));
}

/** Creates the declared indexes of every model of the connection. */
export async function ensureIndexes(conn: Connection): Promise<void> {
  for (const model of Object.values(conn.models)) await model.createIndexes();
}

/** A document under optimistic concurrency: its state and a version bumped on every write. */
export interface Versioned {
  version: number;
}

/**
 * Applies `update` only if the document still has the expected version (and, if given,
 * state), bumping the version. A replayed or concurrent writer gets StaleWriteError and
 * changes nothing. This is how state moves without multi-document transactions.
 */
export async function conditionalUpdate<T extends Versioned>(
  model: Model<T>,
  filter: { _id: unknown; version: number; state?: string },
  update: UpdateQuery<T>,
): Promise<T> {
  const { $inc, ...rest } = update as UpdateQuery<T> & { $inc?: Record<string, number> };
  const doc = await model
    .findOneAndUpdate(filter as Record<string, unknown>, { ...rest, $inc: { ...$inc, version: 1 } } as UpdateQuery<T>, {
      returnDocument: 'after',
    })
    .lean<T>()
    .exec();
  if (!doc) {
    const current = await model.findById(filter._id).lean<T & { state?: string }>().exec();
    const found = current ? `state ${current.state ?? '-'} version ${current.version}` : 'no document';
    throw new StaleWriteError(
      `${model.modelName} ${String(filter._id)}: expected ${filter.state ? `state ${filter.state} ` : ''}version ${filter.version}, found ${found}`,
      { details: { id: String(filter._id), expected: filter, found: current ? { state: current.state, version: current.version } : null } },
    );
  }
  return doc;
}

/**
 * Statements per bulk write. FerretDB v1 (SQLite) keeps every update statement's read
 * open until the whole command ends, on a pool of 100 SQLite connections: one bulk write
 * of more than about 100 updates deadlocks the store. Chunks of 50 stay clear of it.
 */
export const BULK_CHUNK = 50;

/** bulkWrite in sequential chunks of BULK_CHUNK statements. */
export async function bulkWriteChunked<T extends object>(model: Model<T>, ops: AnyBulkWriteOperation<T>[]): Promise<void> {
  for (let i = 0; i < ops.length; i += BULK_CHUNK) {
    await model.bulkWrite(ops.slice(i, i + BULK_CHUNK) as Parameters<Model<T>['bulkWrite']>[0], { ordered: false });
  }
}

/** The URI without credentials, for messages and logs. */
export function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

/** A write refused by a unique index (`_id` included): the compare-and-swap lost. */
export const isDuplicateKey = (err: unknown): boolean => (err as { code?: number }).code === 11000;

/**
 * The documents an unordered bulk insert of `count` refused, by index, when all were
 * duplicate keys; undefined otherwise. A single document's refusal may come without
 * write errors.
 */
export function duplicateIndexes(err: unknown, count?: number): Set<number> | undefined {
  const writeErrors = (err as { writeErrors?: { code?: number; index?: number }[] }).writeErrors;
  if (!Array.isArray(writeErrors) || writeErrors.length === 0) return count === 1 && isDuplicateKey(err) ? new Set([0]) : undefined;
  if (!writeErrors.every((e) => e.code === 11000 && typeof e.index === 'number')) return undefined;
  return new Set(writeErrors.map((e) => e.index as number));
}

/** A bulk insert whose only refusals are duplicate keys (documents already there). */
export function onlyDuplicates(err: unknown): boolean {
  if (isDuplicateKey(err) && !(err as { writeErrors?: unknown }).writeErrors) return true;
  return duplicateIndexes(err) !== undefined;
}
