// Watching one order: the in-process notifier the saga's store tells when an attempt is
// recorded, and the loop behind order.v1.OrderService/WatchOrder that answers the order again
// each time it changed. One instance hears only its own runner's commits, so the loop also
// re-reads the order every `resyncMs`: progress made by another order instance (or a payment
// event from Kafka) still arrives, only later (docs/patterns/streaming.md).
import { EventEmitter } from 'node:events';
import type { OrderView } from '../domain/order';
import type { OrderQueries } from './order-queries';
import type { SagaStore } from './ports';

/** Who is told that an order changed: `notify(orderId)` after a commit, `subscribe` per watch. */
export class OrderChanges {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open watch; the gauge of open watches is what to look at, not a warning.
    this.emitter.setMaxListeners(0);
  }

  notify(orderId: string): void {
    this.emitter.emit(orderId);
  }

  /** Calls `listener` after each change of `orderId`; returns the unsubscribe. */
  subscribe(orderId: string, listener: () => void): () => void {
    this.emitter.on(orderId, listener);
    return () => this.emitter.off(orderId, listener);
  }

  /** Orders with at least one watcher (tests check that a cancelled watch leaves none). */
  get watched(): number {
    return this.emitter.eventNames().length;
  }
}

/** The saga store, telling `changes` about each attempt it recorded (begun, finished). */
export function notifyingStore(store: SagaStore, changes: OrderChanges): SagaStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if ((key !== 'beginAttempt' && key !== 'finishAttempt') || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const result = await value.apply(target, args);
        // Undefined: the version moved, nothing was written by this runner.
        if (result !== undefined) changes.notify((args[0] as { orderId: string }).orderId);
        return result;
      };
    },
  });
}

export interface WatchOptions {
  /** How often the order is read again without a notification. */
  resyncMs: number;
  signal: AbortSignal;
}

const TERMINAL = new Set(['CONFIRMED', 'CANCELLED']);

/**
 * The order now, then each changed version, until it is CONFIRMED or CANCELLED or `signal`
 * aborts. The first read throws SHOP_NOT_FOUND for an unknown order or another user's.
 * Notifications that arrive while a read runs are folded into one more read.
 */
export async function* watchOrder(
  queries: OrderQueries,
  changes: OrderChanges,
  userId: string,
  orderId: string,
  options: WatchOptions,
): AsyncGenerator<OrderView> {
  let dirty = true;
  let wake: (() => void) | undefined;
  const poke = () => {
    dirty = true;
    wake?.();
  };
  // Subscribed before the first read, so a commit between the read and the wait is not missed.
  const unsubscribe = changes.subscribe(orderId.toLowerCase(), poke);
  const timer = setInterval(poke, options.resyncMs);
  options.signal.addEventListener('abort', poke, { once: true });
  try {
    let last = '';
    while (!options.signal.aborted) {
      if (!dirty) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      dirty = false;
      const order = await queries.get(userId, orderId);
      const fingerprint = `${order.status}\u0000${order.updatedAt}\u0000${JSON.stringify(order.timeline)}`;
      if (fingerprint !== last) {
        last = fingerprint;
        yield order;
      }
      if (TERMINAL.has(order.status)) return;
    }
  } finally {
    clearInterval(timer);
    unsubscribe();
    options.signal.removeEventListener('abort', poke);
  }
}
