// Every word a receiver writes for people, in the two languages its configuration may ask
// for (`locale`): Chinese by default, since the operations teams that read the robots are.
export type Locale = 'zh-CN' | 'en';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en'];
export const DEFAULT_LOCALE: Locale = 'zh-CN';

export interface ReceiverText {
  firing: string;
  resolved: string;
  acknowledged: string;
  severity: Record<string, string>;
  host: string;
  plan: string;
  wave: string;
  step: string;
  failureCode: string;
  startsAt: string;
  endsAt: string;
  logTail: string;
  openStep: string;
  console: string;
  /** The note that ends a message that could not list every alert. */
  more(n: number): string;
  /** Title: status, how many alerts, what. */
  title(status: string, count: number, what: string): string;
}

export const RECEIVER_TEXT: Readonly<Record<Locale, ReceiverText>> = {
  'zh-CN': {
    firing: '告警',
    resolved: '已恢复',
    acknowledged: '已确认',
    severity: { critical: '严重', warning: '警告', info: '提示' },
    host: '主机',
    plan: '计划',
    wave: '批次',
    step: '步骤',
    failureCode: '失败码',
    startsAt: '开始时间',
    endsAt: '恢复时间',
    logTail: '日志末尾',
    openStep: '在控制台查看该步骤',
    console: '控制台',
    more: (n) => `…另有 ${n} 条告警未列出`,
    title: (status, count, what) => `【${status}】${what}（${count} 条）`,
  },
  en: {
    firing: 'FIRING',
    resolved: 'RESOLVED',
    acknowledged: 'ACKNOWLEDGED',
    severity: { critical: 'critical', warning: 'warning', info: 'info' },
    host: 'Host',
    plan: 'Plan',
    wave: 'Wave',
    step: 'Step',
    failureCode: 'Failure code',
    startsAt: 'Started',
    endsAt: 'Resolved',
    logTail: 'Last log lines',
    openStep: 'Open the step in the console',
    console: 'Console',
    more: (n) => `…and ${n} more alert${n === 1 ? '' : 's'} not listed`,
    title: (status, count, what) => `[${status}:${count}] ${what}`,
  },
};
