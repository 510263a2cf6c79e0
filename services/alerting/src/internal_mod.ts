// Internal surface of @yixing/alerting (`@yixing/alerting/internal`), for the tests in tests/.

export * from './delivery/backoff.ts';
export * from './delivery/delivery-queue.ts';
export * from './delivery/token-bucket.ts';
export * from './engine/fingerprint.ts';
export * from './errors.ts';
export * from './mod.ts';
export * from './receivers/capture-server.testing.ts';
export * from './receivers/email.receiver.ts';
export * from './receivers/email-config.ts';
export * from './receivers/email-render.ts';
export * from './receivers/notification.testing.ts';
