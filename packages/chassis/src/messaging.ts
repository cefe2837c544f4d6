// Domain events on Kafka: the CloudEvents envelope, an idempotent producer and an idempotent
// consumer with retries and a dead-letter topic (docs/reference.md#calls-and-events).
//
// One concern per module, re-exported here (and from the chassis' index) under the names
// services have always imported:
//  - events.ts            the CloudEvents envelope: build, validate, encode, decode, trace headers
//  - sql.ts               a transaction as a pg client or a Prisma `tx`, and raw SQL on either
//  - processed-events.ts  the idempotent consumer's ledger table
//  - kafka.ts             kafkajs' logs in pino, the topics a service needs
//  - producer.ts          the idempotent producer
//  - consumer-metrics.ts  the consumer's metrics
//  - dead-letter.ts       the dead-letter topic's write and headers
//  - message-processor.ts the per-message logic: ledger, retries, dead letters, commit
//  - consumer.ts          the kafkajs consumer and its Intake
//  - backoff.ts           the one backoff and sleep every retry loop waits with
export { backoffDelayMs, interruptibleSleep } from './backoff';
export * from './consumer';
export * from './consumer-metrics';
export { DLQ_HEADERS } from './dead-letter';
export * from './events';
export * from './kafka';
export * from './message-processor';
export { PROCESSED_EVENTS_DDL } from './processed-events';
export * from './producer';
export * from './sql';
