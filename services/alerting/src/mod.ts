// Public surface of @yixing/alerting, for tests that build it in process.
export * from './api/alerting.routes.ts';
// What the API answers, for its clients (the console imports these as types only).
export type { AlertView, SilenceView } from './api/views.ts';
export { type AlertingApp, type AlertingAppConfig, type AlertingAppDeps, buildAlertingApp } from './app.ts';
export { type AlertingConfig, checkAlertingConfig, loadAlertingConfig } from './config/alerting-config.ts';
export * from './metrics.ts';
export type { Alert, LabelSet, Notification, NotifiedAlert, Severity } from './model/alert.ts';
export * from './store/alert.store.ts';
export * from './store/silence.store.ts';
