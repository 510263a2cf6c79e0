// One thing wrong with what an operator wrote (a silence, the configuration), with where
// it is, so that every problem can be reported at once and the API can name the field.

export interface Problem {
  /** Where: `matchers[0]`, `route.routes[1].group_wait`. */
  readonly path: string;
  /** What is wrong, for a person. */
  readonly reason: string;
}

/** `path: reason`, one per line. */
export function problemsText(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path}: ${p.reason}`).join('\n');
}
