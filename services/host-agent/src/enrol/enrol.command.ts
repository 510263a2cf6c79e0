// `yx-agent enrol --token T`: this host's own bus credential, from a one-time token.
import { hostname } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { idPatterns, isYxError, ValidationError } from '@yixing/common';
import { enrolHost } from './enrol-host.ts';

export const ENROL_USAGE = `yx-agent enrol --token TOKEN — get this host's credential for the bus

  --token TOKEN       the one-time token (yx-enrol token HOST prints it)
  --server URL        NATS server(s), comma separated (default: YX_NATS_URL, else nats://127.0.0.1:4222)
  --host-id ID        this host's id (default: YX_HOST_ID, else the hostname)
  --state-dir DIR     where the agent keeps its state; the credential goes to DIR/bus.creds
                      (default: YX_STATE_DIR, else /var/lib/yixing)
  --tls-ca FILE       CA certificate to check the server with (default: YX_NATS_TLS_CA)
                      a client certificate for mutual TLS: YX_NATS_TLS_CERT and YX_NATS_TLS_KEY
Exit codes: 0 enrolled, 2 bad usage, 4 refused (the token is unknown, used, expired or another host's), 1 the service did not answer.
`;

/** The credentials file of an agent's state directory, which host mode reads by default. */
export const agentCredsFile = (stateDir: string): string => path.join(stateDir, 'bus.creds');

export async function runEnrol(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        token: { type: 'string' },
        server: { type: 'string' },
        'host-id': { type: 'string' },
        'state-dir': { type: 'string' },
        'tls-ca': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    err.write(`yx-agent enrol: ${(e as Error).message}\n${ENROL_USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(ENROL_USAGE);
    return 0;
  }
  const token = values.token as string | undefined;
  const hostId = (values['host-id'] as string | undefined) ?? env.YX_HOST_ID ?? hostname().replace(/[^A-Za-z0-9_-]/g, '-');
  const problems = [
    ...(token ? [] : ['--token is required']),
    ...(new RegExp(idPatterns.hostId).test(hostId) ? [] : [`host id ${JSON.stringify(hostId)} must match ${idPatterns.hostId}`]),
  ];
  if (problems.length > 0) {
    err.write(`yx-agent enrol: ${problems.join('; ')}\n${ENROL_USAGE}`);
    return 2;
  }
  const stateDir = (values['state-dir'] as string | undefined) ?? env.YX_STATE_DIR ?? '/var/lib/yixing';
  const servers = ((values.server as string | undefined) ?? env.YX_NATS_URL ?? 'nats://127.0.0.1:4222').split(',').filter(Boolean);
  const ca = (values['tls-ca'] as string | undefined) ?? env.YX_NATS_TLS_CA;
  const tls = {
    ...(ca ? { caFile: ca } : {}),
    ...(env.YX_NATS_TLS_CERT && env.YX_NATS_TLS_KEY ? { certFile: env.YX_NATS_TLS_CERT, keyFile: env.YX_NATS_TLS_KEY } : {}),
  };
  const credsFile = agentCredsFile(stateDir);
  try {
    const { userKey } = await enrolHost({
      servers,
      hostId,
      token: token as string,
      credsFile,
      ...(Object.keys(tls).length > 0 ? { tls } : {}),
    });
    out.write(
      `enrolled ${hostId} (key ${userKey}); credential in ${credsFile}\nrun the agent: YX_AGENT_MODE=host YX_HOST_ID=${hostId} YX_STATE_DIR=${stateDir} yx-agent\n`,
    );
    return 0;
  } catch (e) {
    err.write(`yx-agent enrol: ${(e as Error).message}\n`);
    if (e instanceof ValidationError) return 2;
    return isYxError(e) && !e.retryable ? 4 : 1;
  }
}
