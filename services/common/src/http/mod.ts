// @yixing/common/http: what the services' HTTP APIs share (fastify), kept out of the main
// entry so that services without an API do not load it.
export * from './api-errors.ts';
export * from './api-server.ts';
export * from './auth/mod.ts';
export * from './cursor.ts';
export * from './openapi.ts';
export * from './request-spans.ts';
