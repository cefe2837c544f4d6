// Checkout admission's Prometheus metrics (docs/adr/0016-checkout-load-shedding.md), in the
// service's registry (/metrics). Created once per registry: tests build several apps on one.
import { getOrCreate } from '@shoplab/chassis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AdmissionObserver } from '../application/checkout-admission';

export function admissionMetrics(registry: Registry): AdmissionObserver {
  const registers = [registry];
  const shed = getOrCreate(
    registry,
    'shop_checkout_shed_total',
    () =>
      new Counter({
        name: 'shop_checkout_shed_total',
        help: 'Checkouts refused with 503 + Retry-After before they ran, by reason (queue_full, deadline, wait_timeout)',
        labelNames: ['reason'],
        registers,
      }),
  );
  const running = getOrCreate(
    registry,
    'shop_checkout_running',
    () => new Gauge({ name: 'shop_checkout_running', help: 'Checkouts running now (admitted)', registers }),
  );
  const waiting = getOrCreate(
    registry,
    'shop_checkout_waiting',
    () => new Gauge({ name: 'shop_checkout_waiting', help: 'Checkouts waiting for a slot now', registers }),
  );
  return {
    shed: (reason) => shed.inc({ reason }),
    depth: (r, w) => {
      running.set(r);
      waiting.set(w);
    },
  };
}
