// `yx-agent` with no command, the service: reads and validates configuration from the
// environment, connects to NATS and runs the simulated fleet (YX_AGENT_MODE=fleet) or this
// host (YX_AGENT_MODE=host). Fails fast with a clear message. main.ts loads it.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import path from 'node:path';
import {
  agentInboxPrefix,
  Bus,
  type BusOptions,
  type BusSecurityEnv,
  bool,
  busSecurityFromEnv,
  connectBus,
  createLogger,
  createRegistry,
  idPatterns,
  int,
  logEnv,
  natsEnv,
  oneOf,
  readableFile,
  readEnv,
  runMain,
  stopOnSignals,
  str,
} from '@yixing/common';
import { AGENT_VERSION, buildFleetApp } from './app.ts';
import { parseSimulateConfig } from './drivers/simulate/simulate-config.ts';
import { CredentialRenewer } from './enrol/credential-renewal.ts';
import { agentCredsFile } from './enrol/enrol.command.ts';
import { fleetIdentities } from './fleet.ts';
import { buildHostAgent } from './host-mode.ts';
import { FileJournal, noJournal } from './journal.ts';
import { loadKnowledgeRules } from './knowledge/rule.ts';
import { loadAgentProfiles } from './profiles/profile.ts';
import { loadWorkloadHooks } from './workloads/workload-config.ts';

async function main(): Promise<void> {
  const cfg = readEnv({
    ...natsEnv,
    ...logEnv,
    YX_AGENT_MODE: {
      doc: 'fleet: many simulated hosts in one process; host: this host, real driver',
      parse: oneOf(['fleet', 'host'] as const),
      default: 'fleet',
    },
    YX_HOST_ID: {
      doc: 'host mode: the host id on the bus',
      parse: str({ pattern: new RegExp(idPatterns.hostId) }),
      default: hostname().replace(/[^A-Za-z0-9_-]/g, '-'),
    },
    YX_ROOT: { doc: 'host mode: the root to migrate (a directory is a chroot)', parse: str(), default: '/' },
    YX_DRIVER: {
      doc: 'host mode: apt or dnf',
      parse: oneOf(['apt', 'dnf'] as const),
      default: existsSync('/usr/bin/apt-get') ? 'apt' : 'dnf',
    },
    YX_LABELS: {
      doc: 'host mode: pool=..,cluster=..,zone=..,rack=..,role=..',
      parse: str({ pattern: /^([a-z]+=[A-Za-z0-9_.-]*)(,[a-z]+=[A-Za-z0-9_.-]*)*$|^$/ }),
      default: '',
    },
    YX_MIRRORS: { doc: 'host mode: FROM=TO repository mirrors, comma separated', parse: str(), default: '' },
    YX_TRUSTED_MIRRORS: { doc: 'host mode: the mirrors are unsigned', parse: bool, default: false },
    YX_PROFILES_DIR: { doc: "host mode: the site's own profiles, besides the shipped ones", parse: str(), default: '' },
    YX_KNOWLEDGE_DIR: {
      doc: "host mode: the site's own knowledge rules, besides the shipped ones (same id: replaces)",
      parse: str(),
      default: '',
    },
    YX_AGENT_WORKLOADS: {
      doc: 'host mode: the site’s workload hooks (YAML): what drain and undrain do per role (docs/architecture.md)',
      parse: str(),
      default: '',
    },
    YX_STATE_DIR: { doc: "directory for the agents' local state", parse: str(), default: path.resolve('.data/agents') },
    YX_JOURNAL_FILE: { doc: 'append-only journal of executed steps (JSON lines); empty for none', parse: str(), default: '' },
    YX_HEARTBEAT_MS: { doc: 'heartbeat interval in ms', parse: int({ min: 100, max: 600_000 }), default: 5_000 },
    YX_FLEET_SIZE: { doc: 'number of simulated hosts', parse: int({ min: 1, max: 100_000 }), default: 60 },
    YX_FLEET_OFFSET: { doc: 'index of the first simulated host', parse: int({ min: 0 }), default: 0 },
    YX_FLEET_CLUSTERS: { doc: 'clusters the hosts are spread over', parse: int({ min: 1 }), default: 6 },
    YX_FLEET_ZONES: { doc: 'zones the clusters are spread over', parse: int({ min: 1 }), default: 3 },
    YX_FLEET_RACKS: { doc: 'racks per zone', parse: int({ min: 1 }), default: 4 },
    YX_FLEET_POOL: { doc: 'pool label of the hosts', parse: str({ pattern: /^[A-Za-z0-9_.-]{1,64}$/ }), default: 'demo' },
    YX_FLEET_PREFIX: { doc: 'host id prefix', parse: str({ pattern: /^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$/ }), default: 'sim' },
    YX_FLEET_OS: {
      doc: 'os-release ID:VERSION_ID of the hosts',
      parse: str({ pattern: /^[a-z0-9._-]+:[A-Za-z0-9._-]+$/ }),
      default: 'centos:7',
    },
    YX_FLEET_BACKUPS: {
      doc: 'none: the backup step only takes its time; service: each stores a small real backup through the backup service',
      parse: oneOf(['none', 'service'] as const),
      default: 'none',
    },
    YX_SIM_CONFIG: { doc: 'rehearsal configuration as JSON, or @file', parse: str(), default: '' },
    YX_FLEET_CREDS_DIR: {
      doc: 'fleet mode: a directory with each simulated host’s own credentials (<host id>.creds); empty: one shared connection',
      parse: readableFile,
      default: '',
    },
    YX_METRICS_PORT: { doc: 'port for /metrics on 127.0.0.1 (0: none)', parse: int({ min: 0, max: 65535 }), default: 0 },
  });
  const simText = cfg.YX_SIM_CONFIG.startsWith('@') ? await readFile(cfg.YX_SIM_CONFIG.slice(1), 'utf8') : cfg.YX_SIM_CONFIG;
  const simulate = parseSimulateConfig(simText);
  const [osId, osVersion] = cfg.YX_FLEET_OS.split(':') as [string, string];

  const log = createLogger('host-agent', cfg.YX_LOG_LEVEL);
  // Host mode serves no /metrics: process metrics there would only cost CPU (their event-loop
  // monitor wakes the agent every 10 ms; most of an idle agent's CPU, BENCHMARKS.md).
  const registry = createRegistry('host-agent', { processMetrics: cfg.YX_AGENT_MODE !== 'host' });
  if (cfg.YX_AGENT_MODE === 'host') {
    await runHostMode(cfg, log, registry);
    return;
  }
  const spec = {
    size: cfg.YX_FLEET_SIZE,
    offset: cfg.YX_FLEET_OFFSET,
    clusters: cfg.YX_FLEET_CLUSTERS,
    zones: cfg.YX_FLEET_ZONES,
    racksPerZone: cfg.YX_FLEET_RACKS,
    pool: cfg.YX_FLEET_POOL,
    prefix: cfg.YX_FLEET_PREFIX,
    osId,
    osVersion,
  };
  const security = busSecurityFromEnv(cfg);
  const conns = await fleetConnections(cfg.YX_NATS_URL, security, cfg.YX_FLEET_CREDS_DIR, cfg.YX_FLEET_PREFIX, spec);
  const buses = new Map([...conns].map(([hostId, nc]) => [hostId, new Bus({ nc, log, registry })]));
  const shared = buses.get('');
  const fleet = buildFleetApp({
    bus: shared ?? ((hostId) => buses.get(hostId) as Bus),
    log,
    registry,
    journal: cfg.YX_JOURNAL_FILE ? new FileJournal(cfg.YX_JOURNAL_FILE) : noJournal,
    stateDir: cfg.YX_STATE_DIR,
    spec,
    simulate,
    backups: cfg.YX_FLEET_BACKUPS,
    heartbeatIntervalMs: cfg.YX_HEARTBEAT_MS,
  });

  if (cfg.YX_METRICS_PORT > 0) {
    const server = createServer(async (req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    });
    server.listen(cfg.YX_METRICS_PORT, '127.0.0.1');
    server.unref();
  }

  await fleet.start((n, total) => log.info({ started: n, total }, 'simulated hosts started'));
  log.info({ hosts: fleet.agents.size }, 'fleet running');
  // Machine-readable readiness line for scripts and tests.
  process.stdout.write(`yx-agent fleet ready ${fleet.agents.size}\n`);

  stopOnSignals(
    () => fleet.stop(),
    () => Promise.all([...conns.values()].map((nc) => nc.drain())),
  );
}

/**
 * The fleet's connections: with a credentials directory, one per simulated host with its
 * own credential (the broker holds each to its own subjects, as it does real hosts),
 * keyed by host id; otherwise one shared connection, keyed ''.
 */
async function fleetConnections(
  servers: string[],
  security: Pick<BusOptions, 'creds' | 'tls'>,
  credsDir: string,
  prefix: string,
  spec: Parameters<typeof fleetIdentities>[0],
): Promise<Map<string, Awaited<ReturnType<typeof connectBus>>>> {
  if (!credsDir) return new Map([['', await connectBus({ servers, name: `yx-agent-fleet-${prefix}`, ...security })]]);
  const out = new Map<string, Awaited<ReturnType<typeof connectBus>>>();
  const ids = fleetIdentities(spec, AGENT_VERSION).map((i) => i.hostId);
  // A few at a time: each connection signs the server's nonce, slow in JavaScript.
  for (let i = 0; i < ids.length; i += 10) {
    const batch = await Promise.all(
      ids.slice(i, i + 10).map(async (hostId) => {
        const creds = await readFile(path.join(credsDir, `${hostId}.creds`));
        const nc = await connectBus({
          servers,
          name: `yx-agent-${hostId}`,
          ...(security.tls ? { tls: security.tls } : {}),
          creds,
          inboxPrefix: agentInboxPrefix(hostId),
        });
        return [hostId, nc] as const;
      }),
    );
    for (const [hostId, nc] of batch) out.set(hostId, nc);
  }
  return out;
}

async function runHostMode(
  cfg: BusSecurityEnv & {
    YX_NATS_URL: string[];
    YX_HOST_ID: string;
    YX_ROOT: string;
    YX_DRIVER: 'apt' | 'dnf';
    YX_LABELS: string;
    YX_STATE_DIR: string;
    YX_MIRRORS: string;
    YX_TRUSTED_MIRRORS: boolean;
    YX_PROFILES_DIR: string;
    YX_KNOWLEDGE_DIR: string;
    YX_AGENT_WORKLOADS: string;
    YX_HEARTBEAT_MS: number;
  },
  log: ReturnType<typeof createLogger>,
  registry: ReturnType<typeof createRegistry>,
): Promise<void> {
  const labels = Object.fromEntries(
    cfg.YX_LABELS.split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  );
  const mirrors = Object.fromEntries(
    cfg.YX_MIRRORS.split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  );
  const profiles = await loadAgentProfiles(cfg.YX_PROFILES_DIR || undefined, mirrors);
  const knowledgeRules = await loadKnowledgeRules(cfg.YX_KNOWLEDGE_DIR || undefined);
  const workloads = await loadWorkloadHooks(cfg.YX_AGENT_WORKLOADS || undefined);
  // The host's own credential: YX_NATS_CREDS, else what `yx-agent enrol` left in the state directory.
  // It is read at every (re)connect, so a renewed credential is used from then on.
  const security = busSecurityFromEnv(cfg);
  const enrolled = agentCredsFile(cfg.YX_STATE_DIR);
  const credsFile = cfg.YX_NATS_CREDS || (existsSync(enrolled) ? enrolled : '');
  const nc = await connectBus({
    servers: cfg.YX_NATS_URL,
    name: `yx-agent-${cfg.YX_HOST_ID}`,
    ...(security.tls ? { tls: security.tls } : {}),
    ...(credsFile ? { creds: () => readFileSync(credsFile) } : {}),
    inboxPrefix: agentInboxPrefix(cfg.YX_HOST_ID),
  });
  const bus = new Bus({ nc, log, registry });
  const agent = await buildHostAgent({
    bus,
    log,
    registry,
    hostId: cfg.YX_HOST_ID,
    rootPath: cfg.YX_ROOT,
    driver: cfg.YX_DRIVER,
    labels: {
      pool: labels.pool ?? '',
      cluster: labels.cluster ?? '',
      zone: labels.zone ?? '',
      rack: labels.rack ?? '',
      role: labels.role ?? '',
    },
    stateDir: cfg.YX_STATE_DIR,
    profiles,
    knowledgeRules,
    workloads,
    trustedMirrors: cfg.YX_TRUSTED_MIRRORS,
    heartbeatIntervalMs: cfg.YX_HEARTBEAT_MS,
    agentVersion: AGENT_VERSION,
  });
  await agent.start();
  const renewer = credsFile
    ? new CredentialRenewer({ bus, hostId: cfg.YX_HOST_ID, credsFile, log, reconnect: () => nc.reconnect() })
    : undefined;
  await renewer?.start();
  process.stdout.write(`yx-agent host ready ${cfg.YX_HOST_ID}\n`);
  // The client gives up only when the server refuses the credential (revoked, expired):
  // nothing this process can do will bring it back, so it says so and stops.
  void nc.closed().then((err) => {
    if (!err) return;
    log.fatal({ hostId: cfg.YX_HOST_ID, err: err.message }, 'the bus refused this host’s credential (revoked?); enrol it again');
    process.exit(6);
  });
  stopOnSignals(
    async () => {
      renewer?.stop();
      await agent.stop();
    },
    () => nc.drain(),
  );
}

runMain('yx-agent', main);
