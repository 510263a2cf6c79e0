// Public surface of @yixing/alerting, for tests that build it in process.
export * from './api/alerting.routes.ts';
export * from './metrics.ts';
export * from './store/alert.store.ts';
export * from './store/silence.store.ts';
