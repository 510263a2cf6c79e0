// Internal surface of @yixing/common (`@yixing/common/internal`), for tests that read the
// proto descriptors' own options or record spans.

export { route, rule } from './gen/yixing/v1/options_pb.js';
export * from './mod.ts';
export { type ReadableSpan, type RecordedSpans, recordSpans } from './telemetry/record-spans.ts';
