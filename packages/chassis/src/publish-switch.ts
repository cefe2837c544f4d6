// The exercises' publish switch: outbox (the design) or the naive dual write (their "before").
import type { Message } from 'kafkajs';
import type { Counter } from 'prom-client';
import { ShopError } from './errors';
import { type DomainEvent, encodeEvent } from './events';
import type { Logger } from './logging';
import type { EventProducer } from './producer';

/**
 * How a service's events leave it. `outbox` (the default, and the design): rows written in the
 * business transaction, published by the relay. `direct`: the naive DUAL WRITE, kept only as
 * the "before" switch of the fault-injection exercises (docs/exercises): writeOutbox sends the
 * events straight to Kafka, fire-and-forget, and stores nothing. It is not atomic with the
 * transaction: a publish that fails (Kafka down: the producer gives up after its bounded
 * retries) loses the event for good, and a transaction rolled back after the send leaves a
 * ghost event. The exercise shows both the loss and the repair (order's republish).
 */
export type PublishMode = 'outbox' | 'direct';
export const PUBLISH_MODES = ['outbox', 'direct'] as const satisfies readonly PublishMode[];

/** What direct publishing sends with: the relay's producer, logger and outcome counter. */
interface DirectPublisher {
  producer: Pick<EventProducer, 'send'>;
  logger: Logger;
  outcomes: Counter<'topic' | 'outcome'>;
}

/**
 * The process-wide publish switch (writeOutbox is a plain function called inside business
 * transactions, so the switch cannot travel with it). The service's OutboxRelay attaches its
 * producer; `/admin/outbox/mode` flips it. Without an attached producer it stays `outbox`.
 */
export class PublishSwitch {
  private current: PublishMode = 'outbox';
  private direct: DirectPublisher | undefined;

  get mode(): PublishMode {
    return this.current;
  }

  /** Sets the mode; `direct` needs a producer (attached by the service's OutboxRelay). */
  set(mode: PublishMode): PublishMode {
    if (mode === 'direct' && !this.direct) {
      throw new ShopError('SHOP_CONFLICT', 'direct publishing needs a producer, and this process has no outbox relay');
    }
    if (mode !== this.current) this.direct?.logger.warn({ from: this.current, to: mode }, 'publish mode switched');
    this.current = mode;
    return mode;
  }

  attach(publisher: DirectPublisher): void {
    this.direct = publisher;
  }

  /** Back to the defaults: outbox mode, nothing attached (tests; a relay's stop). */
  reset(): void {
    this.current = 'outbox';
    this.direct = undefined;
  }

  /** Fire-and-forget send of the dual write: never awaited, a failure is logged and counted, then lost. */
  sendDirect(topic: string, events: readonly DomainEvent[]): void {
    const direct = this.direct;
    if (!direct) throw new Error('direct publishing needs a producer: no OutboxRelay attached');
    // Encoded now, inside the request: the active trace context goes into the headers.
    const messages: Message[] = events.map((event) => encodeEvent(event));
    direct.producer.send([{ topic, messages }]).then(
      () => direct.outcomes.inc({ topic, outcome: 'published' }, events.length),
      (err: unknown) => {
        direct.outcomes.inc({ topic, outcome: 'lost' }, events.length);
        direct.logger.error(
          { err, topic, eventIds: events.map((e) => e.id), types: events.map((e) => e.type) },
          'DUAL WRITE: direct publish failed after the transaction; these events are lost',
        );
      },
    );
  }
}

export const publishSwitch = new PublishSwitch();
