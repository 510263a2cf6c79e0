// Public surface of @yixing/alerting, for tests that build it in process.
export {};
