// A CommandPort for unit tests of drivers whose tools cannot run here (LVM needs
// device-mapper): it records every argv and answers from a script, first match wins.
import type { CommandResult } from '../os/command.ts';
import type { CommandPort } from './snapshot.driver.ts';

export type Answer = Partial<CommandResult> | ((argv: string[]) => Partial<CommandResult>);

export class ScriptedCommands implements CommandPort {
  readonly calls: string[][] = [];
  readonly #script: [string, Answer][];

  /** `script`: argv joined by spaces, matched as a prefix, with its answer; others fail with 127. */
  constructor(script: [string, Answer][]) {
    this.#script = script;
  }

  async run(argv: string[]): Promise<CommandResult> {
    this.calls.push(argv);
    const line = argv.join(' ');
    const hit = this.#script.find(([prefix]) => line.startsWith(prefix));
    if (!hit) return { code: 127, stdout: '', stderr: `not scripted: ${line}` };
    const a = typeof hit[1] === 'function' ? hit[1](argv) : hit[1];
    return { code: 0, stdout: '', stderr: '', ...a };
  }

  /** The argv of the calls that change something (everything but the reading ones). */
  changes(readers = ['lvs', 'findmnt', 'btrfs subvolume show', 'stat']): string[] {
    return this.calls.map((c) => c.join(' ')).filter((l) => !readers.some((r) => l.startsWith(r)));
  }
}
