// The bus's authentication for `./dev start`: on first start, the NATS trust chain
// (operator, accounts, signing keys, every service's credentials) is made under
// <data>/bus and kept; the server runs it, each service connects as itself, and each
// simulated host of the demo fleet has its own credential, as an enrolled host would.
// A chain made by an earlier version is brought up to this version's permissions first
// (ensureBusTrust keeps its keys and revocations), before the server starts on it.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { busTrustFiles, DEFAULT_BACKUP_BUCKET, ensureBusTrust, issueAgentCreds, writeSecretFile } from '@yixing/common';
import { AGENT_VERSION, fleetIdentities } from '@yixing/host-agent';
import { repoRoot } from './paths.ts';

export interface DevBusAuth {
  created: boolean;
  /** The nats-server configuration to start with (`-c`). */
  serverConf: string;
  files: ReturnType<typeof busTrustFiles>;
  /** Each process's NATS variables. */
  env: {
    scheduler: Record<string, string>;
    backup: Record<string, string>;
    alerting: Record<string, string>;
    enrol: Record<string, string>;
    fleet: Record<string, string>;
  };
  /** The variables yx-enrol needs, as `NAME=value` lines (for `env $(cat FILE) yx-enrol …`). */
  enrolEnvFile: string;
}

export async function devBusAuth(
  dataDir: string,
  natsUrl: string,
  mongoUri: string,
  fleet: { size: number; prefix: string },
): Promise<DevBusAuth> {
  const dir = path.join(dataDir, 'bus');
  const { trust, created, upgraded } = await ensureBusTrust(dir, { backupBucket: DEFAULT_BACKUP_BUCKET });
  if (upgraded.account.length > 0 || upgraded.identities.length > 0) {
    const parts = [
      ...(upgraded.account.length ? [`fleet account's ${upgraded.account.join(', ')} (revocations kept)`] : []),
      ...(upgraded.identities.length ? [`new credentials for ${upgraded.identities.join(', ')}`] : []),
    ];
    process.stdout.write(`start: bus trust in ${dir} brought up to this version: ${parts.join('; ')}\n`);
  }
  const files = busTrustFiles(dir);
  const serverConf = path.join(dir, 'server.conf');
  const jetstreamConf = path.relative(dir, path.join(repoRoot, 'infra', 'nats', 'jetstream.conf'));
  await writeFile(serverConf, `include "${jetstreamConf}"\ninclude "${path.basename(files.authConf)}"\n`);

  const spec = {
    size: fleet.size,
    offset: 0,
    clusters: 1,
    zones: 1,
    racksPerZone: 1,
    pool: '',
    prefix: fleet.prefix,
    osId: '',
    osVersion: '',
  };
  for (const { hostId } of fleetIdentities(spec, AGENT_VERSION)) {
    const file = files.agentCreds(hostId);
    if (!existsSync(file)) await writeSecretFile(file, await issueAgentCreds(trust, hostId));
  }
  const enrol = {
    YX_NATS_URL: natsUrl,
    YX_MONGO_URI: mongoUri,
    YX_NATS_CREDS: files.creds('enroller'),
    YX_ENROL_REGISTRAR_CREDS: files.creds('registrar'),
    YX_ENROL_AGENT_SIGNING_KEY_FILE: files.agentSigningKey,
    YX_ENROL_OPERATOR_SIGNING_KEY_FILE: files.operatorSigningKey,
    YX_ENROL_JWT_FILE: files.enrolJwt,
  };
  const enrolEnvFile = path.join(dir, 'enrol.env');
  await writeFile(
    enrolEnvFile,
    `${Object.entries(enrol)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  return {
    created,
    serverConf,
    files,
    env: {
      scheduler: { YX_NATS_CREDS: files.creds('scheduler') },
      backup: { YX_NATS_CREDS: files.creds('backup') },
      alerting: { YX_NATS_CREDS: files.creds('alerting') },
      enrol,
      fleet: { YX_FLEET_CREDS_DIR: path.dirname(files.agentCreds('x')) },
    },
    enrolEnvFile,
  };
}
