// Applies one consumed event to the read model: the pure projection (domain/order-document.ts)
// between a locked read and a write of the order's facts and document.
import type { DomainEvent } from '@shoplab/chassis';
import { applyEvent, toDocument } from '../domain/order-document';
import type { HistoryWrites } from './ports';

export type ProjectionOutcome =
  | { kind: 'applied'; orderId: string; version: number; status: string | null }
  /** The document already holds this event (a redelivery under a new group, e.g. after a restart). */
  | { kind: 'already-applied'; orderId: string }
  /** An event type the read side does not use (counted in the topic's progress all the same). */
  | { kind: 'ignored'; type: string };

/** Throws PoisonMessageError (→ the DLQ) when the event's data is not what the contract promises. */
export async function projectEvent(
  event: DomainEvent,
  topic: string,
  writes: HistoryWrites,
): Promise<ProjectionOutcome> {
  const outcome = await project(event, writes);
  // Last: the topic's progress row is shared by every partition's transaction (held briefly).
  await writes.recordProgress(topic, new Date(event.time));
  return outcome;
}

async function project(event: DomainEvent, writes: HistoryWrites): Promise<ProjectionOutcome> {
  const peek = applyEvent(null, event);
  if (peek === null) return { kind: 'ignored', type: event.type };
  const orderId = peek.facts.orderId;
  const result = applyEvent(await writes.loadForUpdate(orderId), event);
  if (!result?.changed) return { kind: 'already-applied', orderId };
  const doc = toDocument(result.facts);
  await writes.save(result.facts, doc);
  return { kind: 'applied', orderId, version: doc.version, status: doc.status };
}
