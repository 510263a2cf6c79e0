// What the btrfs driver reads from btrfs-progs and the boot configuration. Pure.

export interface SubvolumeFacts {
  id: number;
  uuid: string;
  /** The subvolume this one is a snapshot of; absent for an original subvolume. */
  parentUuid?: string;
}

/** `btrfs subvolume show PATH` output → its identity; null when the output has none. */
export function parseSubvolumeShow(text: string): SubvolumeFacts | null {
  const field = (name: string): string | undefined => new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(text)?.[1];
  const uuid = field('UUID');
  const id = Number(field('Subvolume ID'));
  if (!uuid || !Number.isInteger(id)) return null;
  const parent = field('Parent UUID');
  return { id, uuid, ...(parent && parent !== '-' ? { parentUuid: parent } : {}) };
}

/** `btrfs subvolume list -o PATH` output → the paths of the subvolumes nested in it. */
export function parseSubvolumeList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^ID \d+ .* path (.+)$/.exec(l.trim())?.[1])
    .filter((p): p is string => p !== undefined);
}

/**
 * Whether `btrfs subvolume set-default` decides what the next boot mounts as `/`: not
 * when the kernel command line or /etc/fstab names the root's subvolume (rootflags=subvol=…,
 * subvol=/subvolid= in the options of the `/` entry), which then wins over the default.
 * Returns the reason it would not, or null.
 */
export function setDefaultBlocker(cmdline: string, fstab: string): string | null {
  const rootflags = /(?:^|\s)rootflags=(\S+)/.exec(cmdline)?.[1];
  if (rootflags && /(?:^|,)subvol(?:id)?=/.test(rootflags))
    return `the kernel command line names the root subvolume (rootflags=${rootflags})`;
  for (const line of fstab.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields[1] !== '/' || fields[2] !== 'btrfs') continue;
    const opts = fields[3] ?? '';
    if (/(?:^|,)subvol(?:id)?=/.test(opts)) return `/etc/fstab mounts / with ${opts}`;
  }
  return null;
}
