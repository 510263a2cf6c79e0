// What this agent is and where its shipped files are, the same from a checkout on Node and
// from the executable `npm run build:agent` compiles with Bun (infra/agent/build.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import agentPackage from '../package.json' with { type: 'json' };

// Replaced by `bun build --define` with the commit the executable was built from; never
// defined on Node, where `typeof` answers 'undefined' instead of throwing.
declare const YX_AGENT_BUILD_COMMIT: string | undefined;

/** The agent's version: services/host-agent/package.json. */
export const AGENT_VERSION: string = agentPackage.version;

/** Whether this is the compiled executable (its shipped files embedded) rather than a checkout. */
export const COMPILED = typeof YX_AGENT_BUILD_COMMIT === 'string';

/** The git commit the executable was built from; `dev` from a checkout. */
export const AGENT_COMMIT: string = typeof YX_AGENT_BUILD_COMMIT === 'string' ? YX_AGENT_BUILD_COMMIT : 'dev';

/**
 * The directory of a kind of shipped file (profiles, knowledge): services/host-agent/<kind>
 * in a checkout; in the executable, the same directory embedded by `bun build --asset`,
 * which Bun serves beside the bundled entry (every module of the bundle shares its URL).
 */
export function shippedDir(kind: 'profiles' | 'knowledge'): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return COMPILED ? path.join(here, kind) : path.resolve(here, '..', kind);
}

/** `yx-agent version`: one line a person or a script reads. */
export function versionLine(): string {
  return `yx-agent ${AGENT_VERSION} (commit ${AGENT_COMMIT})\n`;
}
