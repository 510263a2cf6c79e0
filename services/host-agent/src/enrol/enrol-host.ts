// A host's enrolment: it makes its own key pair, asks the enrolment service (as the
// enrolment identity the token carries) for a user JWT for its public key, checks the
// JWT names this host and this key, and keeps JWT and seed in a credentials file, 0600.
// The seed never leaves the host.
import { decode } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import {
  Bus,
  type BusTls,
  connectBus,
  createRegistry,
  credsText,
  ENROL_INBOX_PREFIX,
  type Logger,
  parseEnrolToken,
  silentLogger,
  UnavailableError,
  writeSecretFile,
  YxError,
} from '@yixing/common';

/** The enrolment service said no (an unknown, used or expired token; another host's). */
export class EnrolmentRefusedError extends YxError {
  readonly code = 'ENROLMENT_REFUSED';
  readonly retryable = false;
}

export interface EnrolHostOptions {
  servers: string[];
  tls?: BusTls;
  hostId: string;
  token: string;
  /** Where the credentials go (the agent's state directory's bus.creds). */
  credsFile: string;
  /** How long to keep asking while no enrolment service answers. */
  patienceMs?: number;
  log?: Logger;
}

export async function enrolHost(opts: EnrolHostOptions): Promise<{ userKey: string }> {
  const { secret, enrolJwt } = parseEnrolToken(opts.token);
  const user = createUser();
  const nc = await connectBus({
    servers: opts.servers,
    name: `yx-enrol-${opts.hostId}`,
    bearerJwt: enrolJwt,
    inboxPrefix: ENROL_INBOX_PREFIX,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  try {
    const bus = new Bus({ nc, log: opts.log ?? silentLogger(), registry: createRegistry('enrol') });
    const until = Date.now() + (opts.patienceMs ?? 60_000);
    for (let attempt = 0; ; attempt++) {
      let why: string;
      try {
        const reply = await bus.request('enrolRequest', { hostId: opts.hostId, token: secret, userPublicKey: user.getPublicKey() }, 10_000);
        if (reply.accepted) {
          const claims = decode(reply.userJwt);
          if (claims.name !== opts.hostId || claims.sub !== user.getPublicKey())
            throw new EnrolmentRefusedError(`the credential returned is for ${claims.name} (${claims.sub}), not this host and key`);
          await writeSecretFile(opts.credsFile, credsText(reply.userJwt, user.getSeed()));
          return { userKey: user.getPublicKey() };
        }
        if (!reply.retryable) throw new EnrolmentRefusedError(`enrolment of ${opts.hostId} refused: ${reply.reason}`);
        why = reply.reason;
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        why = err.message;
      }
      if (Date.now() > until) throw new UnavailableError(`enrolment of ${opts.hostId} did not succeed in time: ${why}`);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
    }
  } finally {
    await nc.close();
  }
}
