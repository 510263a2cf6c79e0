// `yx-agent enrol --token T`: this host's own bus credential, from a one-time token, then
// the agent's configuration (agent-config.ts) and its unit started.
import { hostname } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { idPatterns, isYxError, ValidationError } from '@yixing/common';
import { type CommandPort, realCommands } from '../os/command.ts';
import { AGENT_CONFIG_FILE, AGENT_UNIT, startAgentUnit, systemdRunning, writeAgentConfig } from './agent-config.ts';
import { enrolHost } from './enrol-host.ts';

export const ENROL_USAGE = `yx-agent enrol --token TOKEN — get this host's credential for the bus

  --token TOKEN       the one-time token (yx-enrol token HOST prints it)
  --server URL        NATS server(s), comma separated (default: YX_NATS_URL, else nats://127.0.0.1:4222)
  --host-id ID        this host's id (default: YX_HOST_ID, else the hostname)
  --state-dir DIR     where the agent keeps its state; the credential goes to DIR/bus.creds
                      (default: YX_STATE_DIR, else /var/lib/yixing)
  --tls-ca FILE       CA certificate to check the server with (default: YX_NATS_TLS_CA)
                      a client certificate for mutual TLS: YX_NATS_TLS_CERT and YX_NATS_TLS_KEY
  --labels L          where the host stands: pool=..,cluster=..,zone=..,rack=..,role=..
  --config FILE       the agent's configuration, updated with the server, host id, labels and
                      CA (default: ${AGENT_CONFIG_FILE}; other lines are kept)
  --no-start          do not enable and start ${AGENT_UNIT} (it is when systemd runs the host)
Exit codes: 0 enrolled, 2 bad usage, 4 refused (the token is unknown, used, expired or another host's), 1 the service did not answer or the configuration could not be written.
`;

/** The credentials file of an agent's state directory, which host mode reads by default. */
export const agentCredsFile = (stateDir: string): string => path.join(stateDir, 'bus.creds');

/** What enrolment touches on the host beyond the bus: the unit's commands, and whether systemd runs. */
export interface EnrolHostPorts {
  commands: CommandPort;
  systemd: () => boolean;
}

const DEFAULT_STATE_DIR = '/var/lib/yixing';

export async function runEnrol(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  ports: EnrolHostPorts = { commands: realCommands, systemd: systemdRunning },
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
        labels: { type: 'string' },
        config: { type: 'string' },
        'no-start': { type: 'boolean' },
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
  const labels = values.labels as string | undefined;
  const problems = [
    ...(token ? [] : ['--token is required']),
    ...(labels === undefined || /^([a-z]+=[^,=\s]*)(,[a-z]+=[^,=\s]*)*$/.test(labels)
      ? []
      : [`--labels ${JSON.stringify(labels)} must be key=value pairs, comma separated`]),
    ...(new RegExp(idPatterns.hostId).test(hostId) ? [] : [`host id ${JSON.stringify(hostId)} must match ${idPatterns.hostId}`]),
  ];
  if (problems.length > 0) {
    err.write(`yx-agent enrol: ${problems.join('; ')}\n${ENROL_USAGE}`);
    return 2;
  }
  const stateDir = (values['state-dir'] as string | undefined) ?? env.YX_STATE_DIR ?? DEFAULT_STATE_DIR;
  const configFile = (values.config as string | undefined) ?? AGENT_CONFIG_FILE;
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
    out.write(`enrolled ${hostId} (key ${userKey}); credential in ${credsFile}\n`);
  } catch (e) {
    err.write(`yx-agent enrol: ${(e as Error).message}\n`);
    if (e instanceof ValidationError) return 2;
    return isYxError(e) && !e.retryable ? 4 : 1;
  }
  // Enrolled: what is left is this host's own (a configuration file, its unit).
  try {
    await writeAgentConfig(configFile, {
      YX_NATS_URL: servers.join(','),
      YX_HOST_ID: hostId,
      ...(stateDir !== DEFAULT_STATE_DIR ? { YX_STATE_DIR: stateDir } : {}),
      ...(labels !== undefined ? { YX_LABELS: labels } : {}),
      ...(ca ? { YX_NATS_TLS_CA: ca } : {}),
    });
    out.write(`configuration in ${configFile}\n`);
    out.write(`${await startAgentUnit(ports.commands, { start: values['no-start'] !== true, systemd: ports.systemd() })}\n`);
    return 0;
  } catch (e) {
    err.write(
      `yx-agent enrol: enrolled, but ${(e as Error).message}; fix it and enrol again with a new token, or start the agent yourself\n`,
    );
    return 1;
  }
}
