// Internal surface of @yixing/alerting (`@yixing/alerting/internal`), for the tests in tests/.

export * from './delivery/backoff.ts';
export * from './delivery/delivery-queue.ts';
export * from './delivery/token-bucket.ts';
export { decideGroup } from './dispatch/dispatcher.ts';
export { groupAlerts, notificationOf } from './dispatch/grouping.ts';
export * from './engine/fingerprint.ts';
export { parseMatchers } from './engine/matchers.ts';
export { buildRouteTree } from './engine/routing.ts';
export * from './errors.ts';
export * from './mod.ts';
export { AlertmanagerReceiver, DEFAULT_RESOLVE_TIMEOUT_MS } from './receivers/alertmanager.receiver.ts';
export * from './receivers/capture-server.testing.ts';
export * from './receivers/email.receiver.ts';
export * from './receivers/email-config.ts';
export * from './receivers/email-render.ts';
export * from './receivers/notification.testing.ts';
export { WebhookReceiver, ZERO_TIME } from './receivers/webhook.receiver.ts';
