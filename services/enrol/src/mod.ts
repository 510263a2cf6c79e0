// Public surface of @yixing/enrol: the enrolment service, for wiring and tests.
export * from './account-registrar.ts';
export * from './enrol.service.ts';
export * from './enrol.store.ts';
export * from './enrol-decision.ts';
