// How compaction drops the versions of archived runs. FerretDB v1's SQLite backend pushes
// no filter but an `_id` equality down to SQL: a `deleteMany({planId, key: {$in}})` reads
// every version stored (of every plan), then deletes the ids it matched in one statement
// whose `IN (…)` list has a variable per id. So the deletes are as few as that list
// allows: SQLite refuses more than 32,766 variables, and each group's matched versions
// stay under MAX_VERSIONS_PER_DELETE. At 10,000 runs of about 7 versions that is 3 reads
// of the versions where there were 10 (one per 1,000 runs archived).
export const MAX_VERSIONS_PER_DELETE = 25_000;

/** A run's versions are numbered from its first stored one up to `version`: at most version + 1 of them. */
const versionsOf = (run: { version: number }): number => Math.max(1, run.version + 1);

/** The runs' keys in groups whose versions, counted from each run's version, stay within `max`. */
export function versionDeleteGroups(runs: readonly { _id: string; version: number }[], max = MAX_VERSIONS_PER_DELETE): string[][] {
  const groups: string[][] = [];
  let group: string[] = [];
  let count = 0;
  for (const run of runs) {
    const n = versionsOf(run);
    if (group.length > 0 && count + n > max) {
      groups.push(group);
      group = [];
      count = 0;
    }
    group.push(run._id);
    count += n;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
