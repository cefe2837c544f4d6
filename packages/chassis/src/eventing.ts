// The Kafka side of a producing service, wired once: the kafkajs client, the idempotent
// producer, and the outbox relay that publishes through it (attached to the publish switch of
// the exercises). main.ts adds `relayIntake` to its intake and `producerPool` to its pools.
import { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { BaseConfig } from './config';
import { kafkaLogCreator } from './kafka';
import { OutboxRelay } from './outbox-relay';
import { createProducer, type EventProducer } from './producer';
import type { Closeable, Intake, ServiceKit } from './service';

/** A config with kafkaConfigSchema's fields. */
type KafkaConfig = BaseConfig & {
  KAFKA_BROKERS: string[];
  KAFKA_CLIENT_ID?: string | undefined;
  OUTBOX_RELAY_MODE?: 'poll' | 'wal' | undefined;
};

export interface EventingOptions {
  /** The pool the relay claims rows with (one connection per cycle; LISTEN uses its own). */
  relayPool: pg.Pool;
  /** The relay's polling fallback (default 1000 ms). */
  pollIntervalMs?: number;
}

export interface Eventing {
  kafka: Kafka;
  producer: EventProducer;
  relay: OutboxRelay;
  /** Starts and stops the relay (put it after the consumers: their outbox rows commit first). */
  relayIntake: Intake;
  /** Disconnects the producer at the end. */
  producerPool: Closeable;
}

/**
 * The service's kafkajs client (client id: KAFKA_CLIENT_ID, else the instance id; its logs
 * through the service's logger). A service that only consumes (history, shipping) needs just
 * this; a producing one gets it from createEventing.
 */
export function createKafkaClient(kit: ServiceKit<KafkaConfig>): Kafka {
  return new Kafka({
    clientId: kit.config.KAFKA_CLIENT_ID ?? kit.instanceId,
    brokers: kit.config.KAFKA_BROKERS,
    logCreator: kafkaLogCreator(kit.logger),
  });
}

export function createEventing(kit: ServiceKit<KafkaConfig>, options: EventingOptions): Eventing {
  const { logger } = kit;
  const kafka = createKafkaClient(kit);
  const producer = createProducer(kafka, { logger });
  const relay = new OutboxRelay({
    pool: options.relayPool,
    producer,
    logger,
    metrics: kit.metrics,
    chaos: kit.chaos,
    attachPublishSwitch: true,
    relayMode: kit.config.OUTBOX_RELAY_MODE ?? 'poll',
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });
  return {
    kafka,
    producer,
    relay,
    relayIntake: { name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() },
    producerPool: { name: 'kafka-producer', close: () => producer.disconnect() },
  };
}
