// A plan's minimum agent version (minAgentVersion), as pure functions: whether the minimum
// is a semantic version, and why a host's reported agent version is refused. Comparison is
// the semver package's (pre-releases are older than their release, build metadata is
// ignored), not hand-written.
import semver from 'semver';

/** Why `min` cannot be a plan's minimum agent version, or undefined if it can. */
export function minAgentVersionProblem(min: string): string | undefined {
  return semver.valid(min) === null ? `${JSON.stringify(min)} is not a semantic version (MAJOR.MINOR.PATCH, like 0.2.0)` : undefined;
}

/**
 * Why a host whose agent reported `reported` at registration may not run in a plan whose
 * minimum is `min` (a valid semantic version), or undefined if it may. An agent that
 * reported no version, or one that is not a semantic version, is refused too: nothing says
 * it is new enough.
 */
export function agentVersionRefusal(reported: string | undefined, min: string): string | undefined {
  if (!reported) return `agent version unknown (none reported at registration); the plan's minimum is ${min}`;
  if (semver.valid(reported) === null)
    return `agent version ${JSON.stringify(reported)} is not a semantic version; the plan's minimum is ${min}`;
  return semver.lt(reported, min) ? `agent ${reported} is older than the plan's minimum ${min}` : undefined;
}

/** The selected hosts a plan may run and those it refuses, with why; every host may run without a minimum. */
export function splitByAgentVersion<H extends { agentVersion?: string }>(
  hosts: readonly H[],
  min: string | undefined,
): { eligible: H[]; refused: { host: H; reason: string }[] } {
  const eligible: H[] = [];
  const refused: { host: H; reason: string }[] = [];
  for (const host of hosts) {
    const reason = min === undefined ? undefined : agentVersionRefusal(host.agentVersion, min);
    if (reason === undefined) eligible.push(host);
    else refused.push({ host, reason });
  }
  return { eligible, refused };
}
