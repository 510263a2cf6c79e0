// An archive's tar structure read as its bytes stream past, so verification needs no copy
// on disk and no second read: every member's name (as `tar -tf` lists them, directories
// without their trailing slash) and the bytes of one member (the manifest), kept up to a
// limit. tar-stream parses (ustar, GNU long names, pax); bodies are skipped, not kept.
import { once } from 'node:events';
import { BACKUP_MANIFEST_MEMBER, MAX_MANIFEST_BYTES } from '@yixing/common';
import { extract } from 'tar-stream';

export interface TarFindings {
  members: string[];
  /** The member's bytes (several copies of it concatenated, as `tar -xO` writes them); undefined when absent. */
  member: Buffer | undefined;
  /** What is wrong with the archive as a tar, or with the member (too large); undefined when nothing is. */
  problem: string | undefined;
}

export class TarScan {
  readonly #extract = extract();
  readonly #members: string[] = [];
  readonly #kept: Buffer[] = [];
  #keptBytes = 0;
  #found = false;
  #problem: string | undefined;
  readonly #done: Promise<void>;

  readonly member: string;
  readonly maxBytes: number;

  constructor(member = BACKUP_MANIFEST_MEMBER, maxBytes = MAX_MANIFEST_BYTES) {
    this.member = member;
    this.maxBytes = maxBytes;
    this.#extract.on('entry', (header, body, next) => {
      const name = header.name.replace(/\/+$/, '');
      this.#members.push(name);
      const keep = name === this.member;
      if (keep) this.#found = true;
      body.on('data', (d: unknown) => {
        if (!keep || this.#problem) return;
        this.#keptBytes += (d as Buffer).length;
        if (this.#keptBytes > this.maxBytes) this.#problem = `${this.member} is larger than ${this.maxBytes} bytes`;
        else this.#kept.push(d as Buffer);
      });
      body.on('end', () => next());
      body.on('error', () => undefined); // the archive's error, reported by the extractor below
    });
    this.#done = new Promise<void>((resolve) => {
      this.#extract.on('finish', resolve);
      this.#extract.on('close', resolve);
      this.#extract.on('error', (err: Error) => {
        this.#problem ??= `not a readable tar archive: ${err.message}`;
        resolve();
      });
    });
  }

  /** Takes the next bytes of the archive; waits while the parser is behind. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#problem !== undefined) return; // already refused: the rest is not looked at
    if (!this.#extract.write(chunk)) await Promise.race([once(this.#extract, 'drain'), this.#done]);
  }

  /** The archive ended: what it held. */
  async end(): Promise<TarFindings> {
    if (this.#problem === undefined) this.#extract.end(undefined);
    else this.#extract.destroy();
    await this.#done;
    return {
      members: this.#members,
      member: this.#found && !this.#problem ? Buffer.concat(this.#kept) : undefined,
      problem: this.#problem,
    };
  }
}
