// LVM thin: the live root is a thin logical volume; `lvcreate --snapshot` of it before the
// upgrade costs no space up front. A rollback asks LVM to merge the snapshot back into its
// origin (`lvconvert --merge`); with the origin in use as `/`, the merge happens when the
// volume is next activated, so the host reboots into the reverted root. Only for the live
// `/`: a snapshot reverts a whole volume, more than a directory root inside it.
import {
  type Detection,
  mustRunOn,
  type RevertResult,
  RootSnapshotDriver,
  type SnapshotDriver,
  SnapshotError,
  SnapshotMissingError,
  type SnapshotRef,
} from './snapshot.driver.ts';

/** A thin pool fuller than this could run out under the upgrade's writes plus the snapshot's. */
export const THIN_POOL_MAX_PERCENT = 80;

/** One row of `lvs --noheadings --separator '|' -o a,b,…` as {a: …, b: …}; null when there is none. Pure. */
export function parseLvsRow(text: string, fields: string[]): Record<string, string> | null {
  const line = text.split('\n').find((l) => l.trim() !== '');
  if (!line) return null;
  const values = line.trim().split('|');
  return Object.fromEntries(fields.map((f, i) => [f, (values[i] ?? '').trim()]));
}

/** An LV name for the run's snapshot: LVM allows letters, digits and `+_.-`. Pure. */
export function snapshotLvName(runId: string): string {
  return `yixing-${runId.replace(/[^A-Za-z0-9+_.-]/g, '_')}`.slice(0, 120);
}

export class LvmThinSnapshotDriver extends RootSnapshotDriver implements SnapshotDriver {
  readonly name = 'lvm-thin' as const;
  async #lv(name: string, fields: string[]): Promise<Record<string, string> | null> {
    const r = await this.port.run(['lvs', '--noheadings', '--nosuffix', '--separator', '|', '-o', fields.join(','), name]);
    return r.code === 0 ? parseLvsRow(r.stdout, fields) : null;
  }

  /** The root's volume: `vg/lv` with its segment type and pool, or why it is none. */
  async #rootLv(): Promise<{ vg: string; lv: string; segtype: string; pool: string } | string> {
    const src = (await this.port.run(['findmnt', '-n', '-o', 'SOURCE', '-T', this.root.path])).stdout.trim();
    if (!src.startsWith('/dev/')) return `the root is on ${src || 'an unknown source'}, not a block device`;
    const row = await this.#lv(src, ['vg_name', 'lv_name', 'segtype', 'pool_lv']);
    if (!row?.vg_name || !row.lv_name) return `the root is on ${src}, not an LVM logical volume`;
    return { vg: row.vg_name, lv: row.lv_name, segtype: row.segtype ?? '', pool: row.pool_lv ?? '' };
  }

  async detect(): Promise<Detection> {
    if (!this.root.isHost) return { usable: false, detail: 'an LVM snapshot reverts a whole volume: used for the live root / only' };
    const lv = await this.#rootLv();
    if (typeof lv === 'string') return { usable: false, detail: lv };
    if (lv.segtype !== 'thin')
      return {
        usable: false,
        detail: `the root volume ${lv.vg}/${lv.lv} is ${lv.segtype}, not thin (a classic snapshot needs its size set aside)`,
      };
    const pool = await this.#lv(`${lv.vg}/${lv.pool}`, ['data_percent', 'metadata_percent']);
    const used = Math.max(Number(pool?.data_percent ?? Number.NaN), Number(pool?.metadata_percent ?? Number.NaN));
    if (!Number.isFinite(used)) return { usable: false, detail: `the thin pool ${lv.vg}/${lv.pool} reports no usage` };
    if (used >= THIN_POOL_MAX_PERCENT)
      return { usable: false, detail: `the thin pool ${lv.vg}/${lv.pool} is ${used}% full (at most ${THIN_POOL_MAX_PERCENT}%)` };
    return {
      usable: true,
      detail: `the root is thin volume ${lv.vg}/${lv.lv} (pool ${used}% full): snapshot before, merge and reboot to roll back`,
    };
  }

  async take(runId: string): Promise<SnapshotRef> {
    const lv = await this.#rootLv();
    if (typeof lv === 'string') throw new SnapshotError(lv);
    const name = snapshotLvName(runId);
    // One left by a crash before the upgrade began is made again rather than trusted.
    if (await this.#lv(`${lv.vg}/${name}`, ['lv_name'])) await mustRunOn(this.port, ['lvremove', '-y', `${lv.vg}/${name}`]);
    await mustRunOn(this.port, ['lvcreate', '--snapshot', '--name', name, '--addtag', 'yixing', `${lv.vg}/${lv.lv}`]);
    return { driver: 'lvm-thin', id: `${lv.vg}/${name}`, facts: { origin: `${lv.vg}/${lv.lv}` } };
  }

  async revert(ref: SnapshotRef, opts: { resumed: boolean }): Promise<RevertResult> {
    const snap = await this.#lv(ref.id, ['lv_name', 'origin', 'lv_merging']);
    if (!snap) {
      if (opts.resumed) return { rebootRequired: true, notes: [`${ref.id} is no longer listed: the merge may already be done`] };
      throw new SnapshotMissingError(`the snapshot ${ref.id} is gone; nothing was changed`);
    }
    if (`${ref.id.split('/')[0]}/${snap.origin}` !== ref.facts.origin)
      throw new SnapshotError(`${ref.id} is a snapshot of ${snap.origin}, not of ${ref.facts.origin}`);
    if (snap.lv_merging !== 'merging') await mustRunOn(this.port, ['lvconvert', '--merge', ref.id]);
    return { rebootRequired: true, notes: [`${ref.id} merges into ${ref.facts.origin} when it is next activated: reboot`] };
  }

  async reverted(ref: SnapshotRef): Promise<boolean> {
    // Merged: the snapshot is gone and its origin stays.
    return !(await this.#lv(ref.id, ['lv_name'])) && (await this.#lv(ref.facts.origin ?? '', ['lv_name'])) !== null;
  }
}
