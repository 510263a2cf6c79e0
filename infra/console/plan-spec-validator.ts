// The console validates a plan as the scheduler's API does, with the API's own validator:
// the scheduler's PlanSpec JSON Schema compiled by the same compiler fastify uses
// (@fastify/ajv-compiler, with the ajv options of apiServerOptions), as standalone code
// at build time. The page's CSP allows no eval, so ajv cannot compile in the browser; the
// bundle gets the compiled function instead, as the module `virtual:plan-spec-validator`.
import path from 'node:path';
import { StandaloneValidator } from '@fastify/ajv-compiler';
import { apiServerOptions } from '@yixing/common/http';
import type * as esbuild from 'esbuild';
import { repoRoot } from '../dev/paths.ts';

export const PLAN_SPEC_VALIDATOR_MODULE = 'virtual:plan-spec-validator';

/** The files the generated validator is made from: a change to one rebuilds the console. */
export const PLAN_SPEC_VALIDATOR_INPUTS = [
  'services/scheduler/src/plans/plan-spec.ts',
  'services/common/src/gen/catalog.ts',
  'services/common/src/http/api-server.ts',
  'infra/console/plan-spec-validator.ts',
];

/** CommonJS source of `validate(body): boolean` with `validate.errors` (ajv's), as the API compiles it. */
export async function planSpecValidatorCode(): Promise<string> {
  const { planSpecSchema } = await import('../../services/scheduler/src/plans/plan-spec.ts');
  let code = '';
  const factory = StandaloneValidator({
    readMode: false,
    storeFunction: (_route: unknown, source: string) => {
      code = source;
    },
  });
  const options = apiServerOptions({}).ajv as { customOptions: Record<string, unknown> };
  const compile = factory({ PlanSpec: structuredClone(planSpecSchema) }, { customOptions: { ...options.customOptions } });
  compile({ schema: { $ref: 'PlanSpec#' }, method: 'POST', url: '/v1/plans', httpPart: 'body' });
  if (!code) throw new Error('the plan spec validator was not generated');
  return code;
}

/** The esbuild plugin that provides `virtual:plan-spec-validator`. */
export const planSpecValidatorPlugin: esbuild.Plugin = {
  name: 'plan-spec-validator',
  setup(build) {
    build.onResolve({ filter: /^virtual:plan-spec-validator$/ }, (args) => ({ path: args.path, namespace: 'plan-spec-validator' }));
    build.onLoad({ filter: /.*/, namespace: 'plan-spec-validator' }, async () => ({
      contents: await planSpecValidatorCode(),
      loader: 'js',
      // Where its require()s of ajv's runtime resolve from.
      resolveDir: path.join(repoRoot, 'infra', 'console'),
    }));
  },
};
