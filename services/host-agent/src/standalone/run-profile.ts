// Which profile a standalone command runs with. A run records the profile as it used it
// (site profiles and mirrors applied): its rollback, and a resumed migration, use that
// record, so they need neither `--profiles-dir` nor `--mirror` again and cannot pick up a
// profile file that changed in between.
import { checkProfile, type Profile } from '../profiles/profile.ts';

/** What the state file of a root says about its last run (the fields read here). */
export interface RecordedRun {
  profile: string;
  profileDefinition?: unknown;
  end?: string;
}

export type ProfileChoice = { ok: true; profile: Profile; fromRecord: boolean } | { ok: false; message: string };

export function chooseProfile(
  command: string,
  given: string | undefined,
  recorded: RecordedRun | undefined,
  offered: ReadonlyMap<string, Profile>,
  where: { root: string; stateFile: string },
): ProfileChoice {
  const name = given ?? (command === 'rollback' ? recorded?.profile : undefined);
  if (!name) {
    return {
      ok: false,
      message: command === 'rollback' ? `no migration of ${where.root} is recorded; nothing to roll back` : '--profile is required',
    };
  }
  const sameRun =
    recorded !== undefined && recorded.profile === name && (command === 'rollback' || (command === 'migrate' && !recorded.end));
  if (sameRun && recorded.profileDefinition !== undefined) {
    // Throws ProfileError naming the state file when the record is not a valid profile.
    return { ok: true, profile: checkProfile(recorded.profileDefinition, `${where.stateFile} (profile of the run)`), fromRecord: true };
  }
  const profile = offered.get(name);
  if (!profile) return { ok: false, message: `no profile ${name} (have: ${[...offered.keys()].join(', ')})` };
  return { ok: true, profile, fromRecord: false };
}
