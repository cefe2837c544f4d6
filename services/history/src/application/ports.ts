// What the application needs from the infrastructure.
import type { OrderDocument, OrderFacts } from '../domain/order-document';

/** The projection's writes, in the consumer's transaction (with the event's processed_events row). */
export interface HistoryWrites {
  /** The order's facts so far (null: not seen yet), locked against the other topic's consumer. */
  loadForUpdate(orderId: string): Promise<OrderFacts | null>;
  save(facts: OrderFacts, doc: OrderDocument): Promise<void>;
  /** Counts `events` (default 1) of `topic` and keeps the newest event time (the lag's seconds). */
  recordProgress(topic: string, eventTime: Date, events?: number): Promise<void>;
}

export interface ReadModelStats {
  documents: number;
  topics: Record<string, { eventsApplied: number; lastEventAt: Date }>;
}
