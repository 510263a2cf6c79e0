// The scheduler's PlanSpec validator, compiled at build time (infra/console/plan-spec-validator.ts).
declare module 'virtual:plan-spec-validator' {
  const validate: ((body: unknown) => boolean) & {
    errors?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[] | null;
  };
  export default validate;
}
