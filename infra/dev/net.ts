// Loopback port helpers shared by the start script, the benchmark and fixtures.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Waits until something listens on 127.0.0.1:port; `alive` says whether to keep waiting. */
export async function waitForPort(port: number, alive: () => string | undefined, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const dead = alive();
    if (dead) throw new Error(dead);
    if (await portOpen(port)) return;
    await sleep(100);
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${attempts / 10} s`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
