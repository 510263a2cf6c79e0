// Can EL7 (CentOS 7, BC-Linux 7: rpm 4.11, glibc 2.17) install a package with these
// requirements (`rpm -qp --requires`)? The oldest target decides for all: what EL7 has,
// EL8, openEuler and BC-Linux 8 have too. Pure.
import { GLIBC_LIBRARIES, newer, OLDEST_GLIBC } from './glibc-check.ts';

/**
 * The rpmlib() features rpm 4.11 provides (lib/rpmds.c of that release). Missing on purpose,
 * as rpm 4.11 lacks them: RichDependencies, LargeFiles, PayloadIsZstd, CaretInVersions,
 * DynamicBuildRequires.
 */
export const EL7_RPMLIB_FEATURES = new Set([
  'VersionedDependencies',
  'CompressedFileNames',
  'PayloadIsBzip2',
  'PayloadFilesHavePrefix',
  'ExplicitPackageProvide',
  'HeaderLoadSortsTags',
  'ScriptletInterpreterArgs',
  'PartialHardlinkSets',
  'ConcurrentAccess',
  'BuiltinLuaScripts',
  'FileDigests',
  'PayloadIsLzma',
  'PayloadIsXz',
  'FileCaps',
  'ScriptletExpansion',
  'TildeInVersions',
]);

/** Files every EL7 host has, which scriptlets may require (bash's). */
const EL7_FILES = new Set(['/bin/sh', '/bin/bash']);

/**
 * Every requirement EL7 cannot meet, each with the reason; empty when it can. Allowed:
 * what the package provides itself (`rpm -qp --provides`: config(NAME) = V-R), EL7's
 * rpmlib features, /bin/sh, and glibc's libraries at symbol versions up to 2.17.
 */
export function el7RequireProblems(requires: string[], ownProvides: string[] = []): string[] {
  const own = new Set(ownProvides.map((l) => l.trim()));
  const problems: string[] = [];
  for (const line of requires.map((l) => l.trim()).filter((l) => l && !own.has(l))) {
    if (line.startsWith('(')) {
      problems.push(`${line}: a rich dependency, which rpm 4.11 cannot parse`);
      continue;
    }
    const rpmlib = /^rpmlib\(([^)]+)\)/.exec(line);
    if (rpmlib) {
      if (!EL7_RPMLIB_FEATURES.has(rpmlib[1] as string)) problems.push(`${line}: rpm 4.11 (EL7) has no ${rpmlib[1]}`);
      continue;
    }
    if (line.startsWith('/')) {
      if (!EL7_FILES.has(line)) problems.push(`${line}: a file EL7's base may not have`);
      continue;
    }
    const lib = /^([^()\s]+)\(([^)]*)\)(\(64bit\))?$/.exec(line);
    if (lib && GLIBC_LIBRARIES.has(lib[1] as string)) {
      const version = /^GLIBC_([0-9.]+)$/.exec(lib[2] as string)?.[1];
      if (lib[2] !== '' && version === undefined) problems.push(`${line}: not a glibc symbol version`);
      else if (version !== undefined && newer(version, OLDEST_GLIBC)) problems.push(`${line}: newer than EL7's glibc ${OLDEST_GLIBC}`);
      continue;
    }
    problems.push(`${line}: outside what EL7 is sure to have (glibc, /bin/sh)`);
  }
  return problems;
}
