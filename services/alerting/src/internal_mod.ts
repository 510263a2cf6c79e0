// Internal surface of @yixing/alerting (`@yixing/alerting/internal`), for the tests in tests/.
export * from './mod.ts';
