// The saga's Prometheus metrics, in the service's registry (/metrics). Created once per
// registry: several runners (tests, or a second runner in one process) share them.
import { getOrCreate } from '@shoplab/chassis';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { SagaObserver } from '../application/ports';

export function sagaMetrics(registry: Registry): SagaObserver {
  const registers = [registry];
  const outcomes = getOrCreate(
    registry,
    'shop_saga_outcomes_total',
    () =>
      new Counter({
        name: 'shop_saga_outcomes_total',
        help: 'Checkout sagas ended, by outcome (confirmed, cancelled)',
        labelNames: ['outcome'],
        registers,
      }),
  );
  const duration = getOrCreate(
    registry,
    'shop_saga_duration_seconds',
    () =>
      new Histogram({
        name: 'shop_saga_duration_seconds',
        help: 'Time from checkout to the saga’s end, by outcome',
        labelNames: ['outcome'],
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
        registers,
      }),
  );
  const attempts = getOrCreate(
    registry,
    'shop_saga_step_attempts_total',
    () =>
      new Counter({
        name: 'shop_saga_step_attempts_total',
        help: 'Saga step and compensation attempts, by step and outcome (SUCCEEDED, FAILED, REFUSED)',
        labelNames: ['step', 'outcome'],
        registers,
      }),
  );
  const orders = getOrCreate(
    registry,
    'shop_orders_total',
    () =>
      new Counter({
        name: 'shop_orders_total',
        help: 'Orders that reached a status (PENDING at checkout, then CONFIRMED or CANCELLED)',
        labelNames: ['status'],
        registers,
      }),
  );
  const revenue = getOrCreate(
    registry,
    'shop_revenue_minor_units_total',
    () =>
      new Counter({
        name: 'shop_revenue_minor_units_total',
        help: 'Totals of confirmed orders, in minor units (cents), by currency',
        labelNames: ['currency'],
        registers,
      }),
  );
  return {
    revenue: (total) => revenue.inc({ currency: total.currency }, total.amount),
    attempt: (step, outcome) => attempts.inc({ step, outcome }),
    ended: (outcome, seconds) => {
      outcomes.inc({ outcome });
      duration.observe({ outcome }, seconds);
    },
    orderStatus: (status) => orders.inc({ status }),
  };
}
