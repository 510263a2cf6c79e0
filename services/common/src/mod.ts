// Public surface of @yixing/common: what two or more services need, nothing else.
export type { MessageInitShape, MessageShape } from '@bufbuild/protobuf';
export * from './backup/backup-manifest.ts';
export * from './bus/bus.ts';
export * from './bus/codec.ts';
export * from './bus/connect.ts';
export * from './config/env.ts';
export * from './db/mongo.ts';
export * from './errors.ts';
export * from './gen/yixing/v1/agent_pb.js';
export * from './gen/yixing/v1/alert_pb.js';
export * from './gen/yixing/v1/backup_pb.js';
export * from './gen/yixing/v1/common_pb.js';
export * from './gen/yixing/v1/events_pb.js';
export * from './gen/yixing/v1/plan_pb.js';
export * from './log.ts';
export * from './metrics.ts';
export * from './process.ts';
export * from './steps.ts';
