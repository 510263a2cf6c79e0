// Debian's prometheus-alertmanager for the receiver tests (tests/fixtures/alertmanager.ts
// starts one per test on its own port), and Debian's prometheus (with promtool) for the
// rules' tests and the scrape test (tests/fixtures/prometheus.ts starts its own). Each
// package is installed as a system service that the init system may start (Alertmanager
// on :9093, gossip on 0.0.0.0:9094; Prometheus on :9090, scraping itself): the tests want
// no such daemon, so the set-up stops it and keeps it from starting at boot.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { capture, run } from './exec.ts';
import { ensureHostPrograms } from './toolchain.ts';

/** Where Debian's init scripts keep the daemon's pid (/etc/init.d/prometheus, …-alertmanager). */
const pidFile = (service: string): string => `/run/prometheus/${service}.pid`;

const log = (msg: string): void => {
  process.stderr.write(`setup: ${msg}\n`);
};

/** The pid in Debian's init-script pidfile when that process still runs. */
function sysvDaemonPid(service: string): number | undefined {
  if (!existsSync(pidFile(service))) return undefined;
  const pid = Number(readFileSync(pidFile(service), 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
}

/** Runlevel links that would start the daemon at boot (S##prometheus-alertmanager). */
function sysvStartLinks(service: string): boolean {
  return ['2', '3', '4', '5'].some((level) => {
    const dir = `/etc/rc${level}.d`;
    return existsSync(dir) && readdirSync(dir).some((f) => /^S\d\d/.test(f) && f.slice(3) === service);
  });
}

/** Installs Alertmanager when missing; no system-service instance runs or starts at boot. */
export async function ensureAlertmanager(): Promise<void> {
  await ensureHostPrograms('alerting');
  await keepFromRunningAsService('prometheus-alertmanager');
}

/** Installs Prometheus and promtool when missing; no system-service instance runs or starts at boot. */
export async function ensurePrometheus(): Promise<void> {
  await ensureHostPrograms('metrics');
  await keepFromRunningAsService('prometheus');
}

/**
 * Stops the package's system service and keeps it from starting at boot, with systemd or
 * with the init scripts (containers, where policy-rc.d usually kept the install from
 * starting it at all).
 */
async function keepFromRunningAsService(service: string): Promise<void> {
  if (existsSync('/run/systemd/system')) {
    const unit = `${service}.service`;
    const enabled = (await capture('systemctl', ['is-enabled', '--quiet', unit])).code === 0;
    const active = (await capture('systemctl', ['is-active', '--quiet', unit])).code === 0;
    if (enabled || active) {
      log(`systemctl disable --now ${unit} (the tests start their own)`);
      await run('systemctl', ['disable', '--now', '--quiet', unit]);
    }
    if ((await capture('systemctl', ['is-active', '--quiet', unit])).code === 0) throw new Error(`${unit} still runs after systemctl stop`);
    return;
  }
  if (sysvDaemonPid(service) !== undefined) {
    log(`service ${service} stop (the tests start their own)`);
    await run('service', [service, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (sysvStartLinks(service)) await run('update-rc.d', [service, 'disable'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = sysvDaemonPid(service);
  if (pid !== undefined)
    throw new Error(`the ${service} service (pid ${pid}, ${pidFile(service)}) still runs after service ${service} stop`);
}
