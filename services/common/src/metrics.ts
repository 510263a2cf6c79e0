// Prometheus metrics through prom-client, one Registry per service (never the global
// default registry, so two services in one test process do not collide).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'yx_' });
  return registry;
}
