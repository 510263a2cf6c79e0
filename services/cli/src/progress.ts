// Progress bars for a plan: one line overall and one per phase. On a terminal the block is
// redrawn in place; otherwise one summary line is printed when something changed.

/** A plan as `GET /v1/plans` lists it: no phases, no spec. */
export interface PlanSummary {
  id: string;
  state: string;
  stateReason: string;
  percentDone: number;
  counters: { total: number; succeeded: number; failed: number; excluded: number; inFlight: number; pending: number; failures: number };
  budget: { limit: number; used: number };
}

/** A plan with its phases, as `GET /v1/plans/<id>` and the event stream show it. */
export interface PlanProgress extends PlanSummary {
  phases: { name: string; size: number; started: number; final: number; failed: number }[];
}

export function bar(fraction: number, width = 30): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

export function progressLines(p: PlanProgress): string[] {
  const c = p.counters;
  const done = c.succeeded + c.failed + c.excluded;
  const lines = [
    `${p.id}  ${p.state}${p.stateReason ? ` (${p.stateReason})` : ''}`,
    `  all      ${bar(c.total ? done / c.total : 1)} ${String(p.percentDone).padStart(5)}%  ${done}/${c.total}  ok ${c.succeeded}  failed ${c.failed}  in flight ${c.inFlight}  budget ${c.failures}/${p.budget.limit}`,
  ];
  for (const ph of p.phases) {
    lines.push(
      `  ${ph.name.padEnd(8)} ${bar(ph.size ? ph.final / ph.size : 1)} ${ph.final}/${ph.size}  started ${ph.started}  failed ${ph.failed}`,
    );
  }
  return lines;
}

/** Where progress is drawn: a terminal redraws in place, anything else gets lines. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class ProgressRenderer {
  readonly #out: ProgressOutput;
  readonly #tty: boolean;
  #drawn = 0;
  #last = '';

  constructor(out: ProgressOutput, opts: { tty?: boolean } = {}) {
    this.#out = out;
    this.#tty = opts.tty ?? Boolean(out.isTTY);
  }

  render(p: PlanProgress): void {
    const lines = progressLines(p);
    if (this.#tty) {
      if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}A`);
      for (const l of lines) this.#out.write(`\x1b[2K${l}\n`);
      this.#drawn = lines.length;
      return;
    }
    const summary = lines[1]?.trim() ?? '';
    const line = `${p.state} ${summary}`;
    if (line !== this.#last) this.#out.write(`${line}\n`);
    this.#last = line;
  }
}
