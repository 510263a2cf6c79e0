// The alerting configuration file (YX_ALERTING_CONFIG, YAML or JSON), in Alertmanager's
// shape with our rules beside it:
//
//   route: { receiver, group_by, group_wait, group_interval, repeat_interval, routes: [...] }
//   inhibit_rules: [ { source_matchers, target_matchers, equal } ]
//   receivers: [ { name, webhook_configs, alertmanager_configs, pagerduty_configs,
//                  email_configs, dingtalk_configs, wecom_configs, feishu_configs } ]
//   rules: { StepFailed: { enabled, severity, labels }, ..., scheduler_absent_for: 1m,
//            events_backlog_max: 10000, events_backlog_for: 5m, log_tail_lines: 20 }
//
// Checked all at once: the service does not start while anything is wrong, and the error
// lists every problem with its path.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@yixing/common';
import { parse as parseYaml } from 'yaml';
import type { RateLimit } from '../delivery/token-bucket.ts';
import type { Severity } from '../model/alert.ts';
import { EmailReceiver } from '../receivers/email.receiver.ts';
import { checkEmailConfig, type EmailConfig } from '../receivers/email-config.ts';
import type { ReceiverKind } from '../receivers/receiver.ts';
import { type ConfiguredReceiver, checkReceivers } from '../receivers/receiver-config.ts';
import { ALERT_NAMES, type AlertName, DEFAULT_RULES, type RuleSettings, type RulesConfig } from '../rules/alert-rules.ts';
import { parseDuration, parseRoutingConfig, type RoutingConfig } from './routing-config.ts';

export interface AlertingConfig {
  routing: RoutingConfig;
  receivers: ConfiguredReceiver[];
  rules: RulesConfig;
  logTailLines: number;
}

const TOP_KEYS = ['global', 'route', 'inhibit_rules', 'receivers', 'rules', 'templates'];
const RULE_KEYS = ['enabled', 'severity', 'labels'];
const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** What the group robots document as their limit (DingTalk, WeCom: 20 messages a minute; Feishu: 100/min, 5/s). */
export const DEFAULT_RATE_LIMITS: Partial<Record<ReceiverKind, RateLimit>> = {
  dingtalk: { perMinute: 20 },
  wecom: { perMinute: 20 },
  feishu: { perMinute: 100, burst: 5 },
};

/** With no file: alerts are kept and shown (API, console, metrics), and nobody is notified. */
export const NO_RECEIVERS = { route: { receiver: 'none' }, receivers: [{ name: 'none' }] };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const emailIntegration = {
  check: (raw: unknown, path: string) => checkEmailConfig(raw, path),
  build: (name: string, config: unknown) => new EmailReceiver(name, config as EmailConfig),
};

function checkRules(raw: unknown, problems: string[]): { rules: RulesConfig; logTailLines: number } {
  const rules: Record<AlertName, RuleSettings> = { ...DEFAULT_RULES.rules };
  const out = { rules: { ...DEFAULT_RULES, rules }, logTailLines: 20 };
  if (raw === undefined || raw === null) return out;
  if (!isRecord(raw)) {
    problems.push('rules: must be a mapping of rule names to settings');
    return out;
  }
  const duration = (key: string, set: (ms: number) => void): void => {
    const v = raw[key];
    if (v === undefined) return;
    const ms = typeof v === 'string' ? parseDuration(v) : null;
    if (ms === null || ms === undefined) problems.push(`rules.${key}: ${JSON.stringify(v)} is not a duration (like 30s, 5m, 1h)`);
    else set(ms);
  };
  const count = (key: string, min: number, max: number, set: (n: number) => void): void => {
    const v = raw[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      problems.push(`rules.${key}: must be an integer from ${min} to ${max}`);
    else set(v);
  };
  duration('scheduler_absent_for', (ms) => {
    out.rules.schedulerAbsentMs = ms;
  });
  duration('events_backlog_for', (ms) => {
    out.rules.eventsBacklogForMs = ms;
  });
  count('events_backlog_max', 1, 1e9, (n) => {
    out.rules.eventsBacklogMax = n;
  });
  count('log_tail_lines', 0, 200, (n) => {
    out.logTailLines = n;
  });
  const settings = ['scheduler_absent_for', 'events_backlog_for', 'events_backlog_max', 'log_tail_lines'];
  for (const [name, value] of Object.entries(raw)) {
    if (settings.includes(name)) continue;
    const at = `rules.${name}`;
    if (!(ALERT_NAMES as readonly string[]).includes(name)) {
      problems.push(`${at}: no such rule (rules: ${ALERT_NAMES.join(', ')})`);
      continue;
    }
    if (!isRecord(value)) {
      problems.push(`${at}: must be a mapping (enabled, severity, labels)`);
      continue;
    }
    const rule = { ...rules[name as AlertName] };
    for (const key of Object.keys(value))
      if (!RULE_KEYS.includes(key)) problems.push(`${at}.${key}: unknown key (known: ${RULE_KEYS.join(', ')})`);
    if (value.enabled !== undefined) {
      if (typeof value.enabled !== 'boolean') problems.push(`${at}.enabled: must be true or false`);
      else rule.enabled = value.enabled;
    }
    if (value.severity !== undefined) {
      if (!SEVERITIES.includes(value.severity as Severity)) problems.push(`${at}.severity: must be one of ${SEVERITIES.join(', ')}`);
      else rule.severity = value.severity as Severity;
    }
    if (value.labels !== undefined) {
      if (!isRecord(value.labels)) problems.push(`${at}.labels: must be a mapping of label names to strings`);
      else {
        for (const [k, v] of Object.entries(value.labels)) {
          if (!LABEL_NAME.test(k)) problems.push(`${at}.labels.${k}: not a label name`);
          if (typeof v !== 'string') problems.push(`${at}.labels.${k}: must be a string`);
        }
        rule.labels = value.labels as Record<string, string>;
      }
    }
    rules[name as AlertName] = rule;
  }
  return out;
}

/** Checks the configuration as data: the configuration, or every problem with its path. */
export function checkAlertingConfig(data: unknown): { config?: AlertingConfig; problems: string[] } {
  if (!isRecord(data)) return { problems: ['the configuration must be a mapping (route, receivers, inhibit_rules, rules)'] };
  const problems: string[] = [];
  for (const key of Object.keys(data)) if (!TOP_KEYS.includes(key)) problems.push(`${key}: unknown key (known: ${TOP_KEYS.join(', ')})`);
  if (data.global !== undefined) problems.push('global: not supported; each receiver carries its own settings');
  if (data.templates !== undefined)
    problems.push('templates: not supported; messages follow each receiver’s format, in zh-CN or en (locale)');
  const receivers = checkReceivers(data.receivers ?? [], { email: emailIntegration });
  problems.push(...receivers.problems);
  const names = Array.isArray(data.receivers)
    ? data.receivers.flatMap((r) => (isRecord(r) && typeof r.name === 'string' ? [r.name.trim()] : []))
    : [];
  const routing = parseRoutingConfig(data, names);
  if (!routing.ok) problems.push(...routing.problems.map((p) => `${p.path}: ${p.reason}`));
  const rules = checkRules(data.rules, problems);
  if (problems.length > 0 || !routing.ok || !receivers.config) return { problems };
  return { config: { routing: routing.config, receivers: receivers.config, ...rules }, problems };
}

/** Reads and checks the file (or the default with no receivers); throws a ConfigError listing every problem. */
export async function loadAlertingConfig(path: string): Promise<AlertingConfig> {
  let data: unknown = NO_RECEIVERS;
  if (path !== '') {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`YX_ALERTING_CONFIG: cannot read ${path}: ${err.code ?? err.message}`, { cause: err });
    });
    try {
      data = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`${path}: not YAML or JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const { config, problems } = checkAlertingConfig(data);
  if (!config) throw new ConfigError(`${path || 'the default alerting configuration'}:\n${problems.join('\n')}`, { details: { problems } });
  return config;
}
