// /v1/hosts/<host>/operations and /v1/operations: the atomic capabilities for operations
// platforms, one host and one capability at a time, each answered with its id, state,
// reports and log, its state changes pushed to a registered callback URL and the bus.
import { idPatterns, patterns } from '@yixing/common';
import { decodeCursor, encodeCursor, errorResponses, identityOf, okResponse } from '@yixing/common/http';
import type { FastifyInstance } from 'fastify';
import { CAPABILITIES } from '../host-runs/run-paths.ts';
import type { OperationInput, OperationService } from '../operations/operation.service.ts';
import { type CallbackConfig, CallbackNotAllowedError, callbackProblem } from '../operations/operation-callbacks.ts';
import { idempotencyKeyHeaders } from '../plans/plan.service.ts';
import { ROLLBACK_REQUIREMENTS } from '../plans/plan-spec.ts';
import { limitOf, PAGE_SIZES, pageParams } from './paging.ts';

export interface OperationRoutesDeps {
  operations: OperationService;
  callbacks: Pick<CallbackConfig, 'allowedPrefixes' | 'secret'>;
}

const operationInputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['capability', 'profile'],
  properties: {
    capability: {
      type: 'string',
      enum: CAPABILITIES,
      description:
        'assess (the precheck, changes nothing), backup (precheck and a verified backup), upgrade (needs a verified backup of the host: it continues the run that made it), rollback (needs one too: it continues the run that upgraded), migrate (all of it, the one click)',
    },
    profile: { type: 'string', pattern: patterns.runStep.profile },
    backupId: {
      type: 'string',
      pattern: idPatterns.backupId,
      description: 'the backup an upgrade or a rollback relies on; absent: the latest',
    },
    callbackUrl: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      description: 'where each state change is posted, signed (X-Yixing-Signature); only under a URL registered with the scheduler',
    },
    dryRun: { type: 'boolean' },
    rollback: { type: 'string', enum: ROLLBACK_REQUIREMENTS },
  },
} as const;

export function operationRoutes(app: FastifyInstance, deps: OperationRoutesDeps): void {
  const { operations } = deps;
  app.post<{ Params: { hostId: string }; Body: OperationInput }>(
    '/v1/hosts/:hostId/operations',
    {
      schema: {
        tags: ['operations'],
        summary: 'Run one capability on one host (an operation); a host is in one operation or plan at a time',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['hostId'],
          properties: { hostId: { type: 'string', pattern: idPatterns.hostId } },
        },
        headers: idempotencyKeyHeaders('operation'),
        body: operationInputSchema,
        response: { ...okResponse('The operation, queued', 201), ...errorResponses(404, 409, 422) },
      },
    },
    async (req, reply) => {
      const url = req.body.callbackUrl;
      const problem = url === undefined ? undefined : callbackProblem(url, deps.callbacks);
      if (problem)
        throw new CallbackNotAllowedError(`callbackUrl: ${problem}`, { details: { field: 'body.callbackUrl', reason: problem } });
      const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
      const op = await operations.create(req.params.hostId, req.body, identityOf(req).name, idempotencyKey);
      return reply.status(201).send(op);
    },
  );

  app.get<{ Params: { operationId: string } }>(
    '/v1/operations/:operationId',
    {
      schema: {
        tags: ['operations'],
        summary: 'An operation: its state, steps with their reports, failure, backup and log path',
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['operationId'],
          properties: { operationId: { type: 'string', pattern: idPatterns.operationId } },
        },
        response: { ...okResponse('The operation'), ...errorResponses(404) },
      },
    },
    async (req) => operations.get(req.params.operationId),
  );

  app.get<{ Querystring: { hostId?: string; limit?: string; cursor?: string } }>(
    '/v1/operations',
    {
      schema: {
        tags: ['operations'],
        summary: 'Operations, newest first, optionally of one host, a page at a time (follow nextCursor)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { hostId: { type: 'string', pattern: idPatterns.hostId }, ...pageParams(PAGE_SIZES.operations) },
        },
        response: okResponse('{items: operations, nextCursor: null on the last page}'),
      },
    },
    async (req) => {
      const limit = limitOf(req.query.limit, PAGE_SIZES.operations);
      const before = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor).id;
      const page = await operations.list({
        limit,
        ...(req.query.hostId ? { hostId: req.query.hostId } : {}),
        ...(before ? { before } : {}),
      });
      const last = page.items.at(-1);
      return {
        items: page.items,
        nextCursor: page.more && last ? encodeCursor({ at: Date.parse(last.createdAt), id: last.operationId }) : null,
      };
    },
  );
}
