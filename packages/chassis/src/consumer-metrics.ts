// The consumer's metrics (shop_consumer_*), registered once per registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { getOrCreate } from './metrics';

/** The consumer's metrics, registered once per registry. */
export interface ConsumerMetrics {
  consumed: Counter<'topic' | 'group'>;
  processed: Counter<'topic' | 'group'>;
  duplicates: Counter<'topic' | 'group'>;
  failures: Counter<'topic' | 'group'>;
  deadLettered: Counter<'topic' | 'group' | 'reason'>;
  /** Events refused because their source is not the topic's owner (also dead-lettered as poison). */
  foreignSource: Counter<'topic' | 'group'>;
  handlerDuration: Histogram<'topic' | 'group' | 'outcome'>;
  lag: Gauge<'topic' | 'group' | 'partition'>;
}

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const registers = [registry];
  const labelNames = ['topic', 'group'] as const;
  return {
    consumed: getOrCreate(
      registry,
      'shop_consumer_consumed_total',
      () => new Counter({ name: 'shop_consumer_consumed_total', help: 'Messages received', labelNames, registers }),
    ),
    processed: getOrCreate(
      registry,
      'shop_consumer_processed_total',
      () =>
        new Counter({
          name: 'shop_consumer_processed_total',
          help: 'Events applied (handler transaction committed)',
          labelNames,
          registers,
        }),
    ),
    duplicates: getOrCreate(
      registry,
      'shop_consumer_duplicates_total',
      () =>
        new Counter({
          name: 'shop_consumer_duplicates_total',
          help: 'Events skipped because this group had already applied their id',
          labelNames,
          registers,
        }),
    ),
    failures: getOrCreate(
      registry,
      'shop_consumer_handler_failures_total',
      () =>
        new Counter({
          name: 'shop_consumer_handler_failures_total',
          help: 'Failed handler attempts (each retry counts)',
          labelNames,
          registers,
        }),
    ),
    deadLettered: getOrCreate(
      registry,
      'shop_consumer_dlq_total',
      () =>
        new Counter({
          name: 'shop_consumer_dlq_total',
          help: 'Messages sent to the dead-letter topic, by reason (poison, failed)',
          labelNames: ['topic', 'group', 'reason'],
          registers,
        }),
    ),
    foreignSource: getOrCreate(
      registry,
      'shop_consumer_foreign_source_total',
      () =>
        new Counter({
          name: 'shop_consumer_foreign_source_total',
          help: "Events refused because their source is not the topic's owning service (dead-lettered as poison)",
          labelNames,
          registers,
        }),
    ),
    handlerDuration: getOrCreate(
      registry,
      'shop_consumer_handler_duration_seconds',
      () =>
        new Histogram({
          name: 'shop_consumer_handler_duration_seconds',
          help: 'Handler attempts including their transaction, by outcome (processed, duplicate, error)',
          labelNames: ['topic', 'group', 'outcome'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    ),
    lag: getOrCreate(
      registry,
      'shop_consumer_lag_messages',
      () =>
        new Gauge({
          name: 'shop_consumer_lag_messages',
          help: 'Messages behind the partition high watermark after the last processed batch',
          labelNames: ['topic', 'group', 'partition'],
          registers,
        }),
    ),
  };
}
