// A worker thread of the frame cipher (frame-cipher.ts): seals and opens AES-256-GCM frames
// it is sent, and sends back the result, its bytes transferred rather than copied.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { FrameJob, FrameReply } from './frame-cipher.ts';

/** The buffer of `b` if it is all of it (then it can be transferred, not copied). */
const own = (b: Uint8Array): ArrayBuffer[] => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? [b.buffer as ArrayBuffer] : []);

function run(job: FrameJob): FrameReply {
  if (job.op === 'seal') {
    const c = createCipheriv('aes-256-gcm', job.key, job.iv);
    c.setAAD(job.aad);
    const data = c.update(job.data);
    c.final(); // nothing more for GCM: the tag is ready
    return { id: job.id, ok: true, data, tag: c.getAuthTag() };
  }
  const d = createDecipheriv('aes-256-gcm', job.key, job.iv);
  d.setAAD(job.aad);
  d.setAuthTag(job.tag as Uint8Array);
  const data = d.update(job.data);
  try {
    d.final(); // GCM adds nothing here; it checks the tag
  } catch {
    return { id: job.id, ok: false };
  }
  return { id: job.id, ok: true, data, tag: new Uint8Array(0) };
}

parentPort?.on('message', (job: FrameJob) => {
  const reply = run(job);
  parentPort?.postMessage(reply, reply.ok ? own(reply.data) : []);
});
