// The read model's lag per source topic: events (what the topic holds that the current group
// has not applied) and seconds (now minus the newest applied event's time, 0 when caught up),
// for GET /admin/history/lag and the Prometheus gauges shop_history_lag_events / _seconds.
import { getOrCreate } from '@shoplab/chassis';
import { Gauge, type Registry } from 'prom-client';
import type { ReadModelStats } from '../application/ports';

export interface TopicLag {
  topic: string;
  groupId: string;
  events: number;
  /** Null when events wait but none was ever applied (no event time to measure from). */
  seconds: number | null;
  eventsApplied: number;
  lastEventAt: string | null;
}

export interface LagSources {
  lag(): Promise<{ topic: string; groupId: string; events: number }[]>;
  stats(): Promise<ReadModelStats>;
}

export async function readLag(sources: LagSources, now = Date.now()): Promise<TopicLag[]> {
  const [lag, stats] = await Promise.all([sources.lag(), sources.stats()]);
  return lag.map((l) => {
    const progress = stats.topics[l.topic];
    const last = progress?.lastEventAt ?? null;
    return {
      ...l,
      seconds: l.events === 0 ? 0 : last ? Math.max(0, (now - last.getTime()) / 1000) : null,
      eventsApplied: progress?.eventsApplied ?? 0,
      lastEventAt: last?.toISOString() ?? null,
    };
  });
}

/** The two gauges, read at scrape time. */
export function registerLagMetrics(registry: Registry, read: () => Promise<TopicLag[]>): void {
  // Both gauges' collect() run during one scrape: they share the read in flight.
  let pending: Promise<TopicLag[]> | undefined;
  const once = (): Promise<TopicLag[]> => {
    pending ??= read().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  const registers = [registry];
  getOrCreate(
    registry,
    'shop_history_lag_events',
    () =>
      new Gauge({
        name: 'shop_history_lag_events',
        help: 'Events a source topic holds that the order-history read model has not applied yet',
        labelNames: ['topic'],
        registers,
        async collect() {
          this.reset();
          for (const l of await once().catch(() => [])) this.set({ topic: l.topic }, l.events);
        },
      }),
  );
  getOrCreate(
    registry,
    'shop_history_lag_seconds',
    () =>
      new Gauge({
        name: 'shop_history_lag_seconds',
        help: 'Now minus the newest applied event time of a source topic, while events wait (0 when caught up)',
        labelNames: ['topic'],
        registers,
        async collect() {
          this.reset();
          for (const l of await once().catch(() => [])) if (l.seconds !== null) this.set({ topic: l.topic }, l.seconds);
        },
      }),
  );
}
