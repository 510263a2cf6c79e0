// The plan-defined cluster probe, run by the agent before its host is taken: a TCP
// connect or an HTTP GET that must answer 2xx within the timeout.
import net from 'node:net';

export interface ProbeSpec {
  kind: string;
  target: string;
  timeoutMs: number;
}

export async function runProbe(probe: ProbeSpec, signal: AbortSignal): Promise<{ ok: boolean; detail: string }> {
  const timeoutMs = probe.timeoutMs || 5_000;
  if (probe.kind === '' || probe.kind === 'none') return { ok: true, detail: 'no probe' };
  if (probe.kind === 'tcp') {
    let host: string;
    let portText: string;
    try {
      [host, portText] = splitHostPort(probe.target);
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
    const port = Number(portText);
    return new Promise((resolve) => {
      const socket = net.connect({ host, port, timeout: timeoutMs, signal });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ ok: true, detail: `tcp ${probe.target} connected` });
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve({ ok: false, detail: `tcp ${probe.target}: no connection within ${timeoutMs} ms` });
      });
      socket.once('error', (err) => resolve({ ok: false, detail: `tcp ${probe.target}: ${err.message}` }));
    });
  }
  if (probe.kind === 'http') {
    try {
      const res = await fetch(probe.target, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
      await res.body?.cancel();
      return { ok: res.status >= 200 && res.status < 300, detail: `http ${probe.target}: ${res.status}` };
    } catch (err) {
      return { ok: false, detail: `http ${probe.target}: ${(err as Error).message}` };
    }
  }
  return { ok: false, detail: `unknown probe kind ${probe.kind}` };
}

function splitHostPort(target: string): [string, string] {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(target);
  if (!m) throw new Error(`probe target ${JSON.stringify(target)} is not host:port`);
  return [m[1] as string, m[2] as string];
}
