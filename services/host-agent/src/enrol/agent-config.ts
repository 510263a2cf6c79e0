// What `yx-agent enrol` leaves behind besides the credential: the agent's configuration
// file (KEY=value lines that yixing-agent.service reads as its EnvironmentFile, shipped by
// the packages as /etc/yixing/agent.env with every key commented out), and the unit
// enabled and started when systemd runs the host.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ValidationError, writeSecretFile } from '@yixing/common';
import { type CommandPort, mustRunOn } from '../os/command.ts';

/** Where the packages put the agent's configuration, and the unit that reads it. */
export const AGENT_CONFIG_FILE = '/etc/yixing/agent.env';
export const AGENT_UNIT = 'yixing-agent.service';

const KEY = /^[A-Z][A-Z0-9_]*$/;

/**
 * The file's text with each of `values` set: an existing `KEY=` line is replaced, else
 * the shipped commented-out `#KEY=` example, else a line is added at the end. Every other
 * line (an operator's own settings, the comments) is kept as it was. A value cannot hold
 * a newline (systemd reads one line per variable).
 */
export function mergeAgentEnv(text: string, values: Readonly<Record<string, string>>): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  for (const [key, value] of Object.entries(values)) {
    if (!KEY.test(key)) throw new ValidationError(key, 'is not a configuration variable name');
    if (/[\r\n]/.test(value)) throw new ValidationError(key, 'cannot hold a line break');
    const line = `${key}=${value}`;
    const set = lines.findIndex((l) => l.startsWith(`${key}=`));
    const example = lines.findIndex((l) => new RegExp(`^#\\s*${key}=`).test(l));
    const at = set >= 0 ? set : example;
    if (at >= 0) lines[at] = line;
    else lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

/** KEY=value lines as systemd's EnvironmentFile= reads them (comments and blank lines skipped). */
export function parseAgentEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (m) out[m[1] as string] = (m[2] as string).trim();
  }
  return out;
}

/** Writes `values` into the configuration file, whole or not at all, mode 0600 as the packages ship it. */
export async function writeAgentConfig(file: string, values: Readonly<Record<string, string>>): Promise<void> {
  const before = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  await writeSecretFile(file, new TextEncoder().encode(mergeAgentEnv(before, values)));
}

/** Whether systemd manages this host (its runtime directory, as sd_booted() checks). */
export const systemdRunning = (): boolean => existsSync('/run/systemd/system');

/**
 * Enables and (re)starts the agent's unit, so a host enrolled again reconnects with its new
 * credential; or says why it did not.
 */
export async function startAgentUnit(commands: CommandPort, opts: { start: boolean; systemd: boolean }): Promise<string> {
  if (!opts.start) return `not started (--no-start): systemctl enable --now ${AGENT_UNIT}`;
  if (!opts.systemd) return `not started: systemd does not run this host; start the agent in host mode yourself`;
  await mustRunOn(commands, ['systemctl', 'enable', AGENT_UNIT]);
  await mustRunOn(commands, ['systemctl', 'restart', AGENT_UNIT]);
  return `${AGENT_UNIT} enabled and started`;
}
