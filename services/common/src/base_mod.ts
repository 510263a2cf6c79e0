// The light surface of @yixing/common (`@yixing/common/base`): errors, the catalog's ids and
// patterns, step names, backup manifests and spans, without the bus, the database, logging
// or metrics. For a process that needs no more, as the standalone `yx-agent migrate`: the
// full barrel loads mongoose and NATS, about a second of start-up (BENCHMARKS.md).
export * from './backup/backup-manifest.ts';
export * from './errors.ts';
export { idPatterns, limits, patterns, streams } from './gen/catalog.ts';
export * from './gen/yixing/v1/common_pb.js';
export * from './steps.ts';
export * from './telemetry/spans.ts';
export * from './telemetry/trace-context.ts';
export * from './telemetry/tracing-env.ts';
