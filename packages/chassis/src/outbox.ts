// The transactional outbox (docs/reference.md#outbox): a service writes its events into `outbox` in
// the same transaction as its state change (writeOutbox), and OutboxRelay publishes them to
// Kafka in id order and marks them published.
//
// Ordering rules a writer must follow:
//  - Write the outbox row AFTER the statement that locks the aggregate (UPDATE orders … /
//    SELECT … FOR UPDATE). Then two transactions touching one aggregate take their outbox ids
//    in commit order, and id order is per-aggregate order.
//  - At most one relay publishes per database schema at any moment: every cycle runs under a
//    transaction-scoped advisory lock (pg_try_advisory_xact_lock), and a relay that finds it
//    taken stands by until its next poll. SKIP LOCKED alone would let two relays claim ids 1–100
//    and 101–200 at once and publish 101 before 1. Several instances still give failover: any
//    of them takes the next cycle when the active one stops or dies.
//
// Delivery is at least once: if the relay dies after Kafka acknowledged but before its commit,
// the rows are published again; consumers dedupe by event id (processed_events).
//
// One concern per module, re-exported here (and from the chassis' index):
//  - outbox-table.ts    the table and the NOTIFY channel
//  - outbox-writer.ts   writeOutbox, inside the business transaction
//  - outbox-relay.ts    the relay and its metrics
//  - outbox-wal.ts      the relay's `wal` mode: the slot and the stream of committed inserts
//  - publish-switch.ts  the exercises' switch between the outbox and the naive dual write
//  - relay-switch.ts    the switch between the polling relay and the WAL relay
export * from './outbox-relay';
export * from './outbox-table';
export * from './outbox-wal';
export * from './outbox-writer';
export * from './publish-switch';
export * from './relay-switch';
