// Debian's prometheus-alertmanager for the receiver tests (tests/fixtures/alertmanager.ts
// starts one per test on its own port). The package is installed as a system service that
// the init system may start (on :9093, gossip on 0.0.0.0:9094): the tests want no such
// daemon, so the set-up stops it and keeps it from starting at boot.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { capture, run } from './exec.ts';
import { ensureHostPrograms } from './toolchain.ts';

const SERVICE = 'prometheus-alertmanager';
/** Where Debian's init script keeps the daemon's pid (/etc/init.d/prometheus-alertmanager). */
const PIDFILE = `/run/prometheus/${SERVICE}.pid`;

const log = (msg: string): void => {
  process.stderr.write(`setup: ${msg}\n`);
};

/** The pid in Debian's init-script pidfile when that process still runs. */
function sysvDaemonPid(): number | undefined {
  if (!existsSync(PIDFILE)) return undefined;
  const pid = Number(readFileSync(PIDFILE, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
}

/** Runlevel links that would start the daemon at boot (S##prometheus-alertmanager). */
function sysvStartLinks(): boolean {
  return ['2', '3', '4', '5'].some((level) => {
    const dir = `/etc/rc${level}.d`;
    return existsSync(dir) && readdirSync(dir).some((f) => /^S\d\d/.test(f) && f.slice(3) === SERVICE);
  });
}

/**
 * Installs Alertmanager when missing and makes sure no system-service instance runs or
 * starts at boot, with systemd or with the init scripts (containers, where policy-rc.d
 * usually kept the install from starting it at all).
 */
export async function ensureAlertmanager(): Promise<void> {
  await ensureHostPrograms('alerting');
  if (existsSync('/run/systemd/system')) {
    const unit = `${SERVICE}.service`;
    const enabled = (await capture('systemctl', ['is-enabled', '--quiet', unit])).code === 0;
    const active = (await capture('systemctl', ['is-active', '--quiet', unit])).code === 0;
    if (enabled || active) {
      log(`systemctl disable --now ${unit} (the tests start their own Alertmanager)`);
      await run('systemctl', ['disable', '--now', '--quiet', unit]);
    }
    if ((await capture('systemctl', ['is-active', '--quiet', unit])).code === 0) throw new Error(`${unit} still runs after systemctl stop`);
    return;
  }
  if (sysvDaemonPid() !== undefined) {
    log(`service ${SERVICE} stop (the tests start their own Alertmanager)`);
    await run('service', [SERVICE, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (sysvStartLinks()) await run('update-rc.d', [SERVICE, 'disable'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = sysvDaemonPid();
  if (pid !== undefined) throw new Error(`the ${SERVICE} service (pid ${pid}, ${PIDFILE}) still runs after service ${SERVICE} stop`);
}
