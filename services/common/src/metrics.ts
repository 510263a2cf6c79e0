// Prometheus metrics through prom-client, one Registry per service (never the global
// default registry, so two services in one test process do not collide).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { unhandledRejections } from './process.ts';

export { Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'yx_' });
  new Counter({
    name: 'yx_unhandled_rejections_total',
    help: 'Promise rejections nobody handled (a bug; logged, the process keeps running)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(unhandledRejections());
    },
  });
  return registry;
}
