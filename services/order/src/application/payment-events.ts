// What the order service does with the payment service's events (topic payment.events): it
// records each one about one of its orders, so the order's timeline shows what happened to the
// money beside the saga's steps. Runs inside the consumer's transaction, which also records the
// event id in processed_events.
import { isSpanContextValid } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import { clockNow, type DomainEvent, parseEventData } from '@shoplab/chassis';
import { defineEvent, PAYMENT_EVENT_V1, paymentEventV1Core } from '@shoplab/contracts';
import { z } from 'zod';
import type { PaymentEventLog } from './ports';

/** Any shop.payment.*.v1 event, read by the fields every kind carries (@shoplab/contracts). */
const anyPaymentEventV1 = defineEvent('shop.payment.*.v1', paymentEventV1Core);

/** Order ids are UUIDs: anything else names no order of this service. */
const orderIdSchema = z.guid();

export type PaymentEventOutcome =
  /** On the order's timeline now. */
  | { kind: 'recorded'; orderId: string; type: string }
  /** The same event id is on the timeline already (recorded under another consumer group). */
  | { kind: 'already-recorded'; orderId: string; type: string }
  /** No such order here (a payment made without the order service, or an order id from elsewhere): skipped. */
  | { kind: 'unknown-order'; orderId: string; type: string }
  /** Not a payment event of version 1: recorded as processed and skipped. */
  | { kind: 'ignored'; type: string };

export interface PaymentEventContext {
  /** The message's W3C `traceparent` header: the trace id on the timeline. */
  traceparent?: string | undefined;
  /** When the order service received it (default: now, on the service's clock). */
  receivedAt?: Date;
}

/**
 * Applies one payment event. Throws PoisonMessageError (→ the DLQ at once: retrying cannot mend
 * it) when the data is not what the contract promises: the timeline records nothing on a guess.
 */
export async function applyPaymentEvent(
  event: DomainEvent,
  events: PaymentEventLog,
  context: PaymentEventContext = {},
): Promise<PaymentEventOutcome> {
  const { type } = event;
  if (!PAYMENT_EVENT_V1.test(type)) return { kind: 'ignored', type };
  const { orderId, paymentId, status, amount } = parseEventData(anyPaymentEventV1, event);
  if (!orderIdSchema.safeParse(orderId).success || !(await events.orderExists(orderId))) {
    return { kind: 'unknown-order', orderId, type };
  }
  const traceId = traceIdOf(context.traceparent);
  const recorded = await events.record({
    eventId: event.id,
    orderId,
    paymentId,
    type,
    status,
    amount,
    occurredAt: new Date(event.time),
    receivedAt: context.receivedAt ?? clockNow(),
    ...(traceId ? { traceId } : {}),
    ...(event.lamport !== undefined ? { lamport: event.lamport } : {}),
    ...(event.hlc !== undefined ? { hlc: event.hlc } : {}),
  });
  return { kind: recorded ? 'recorded' : 'already-recorded', orderId, type };
}

/** The trace id of a W3C `traceparent`; undefined when absent or malformed (a bad header is no reason to refuse the event). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const span = traceparent ? parseTraceParent(traceparent) : null;
  return span && isSpanContextValid(span) ? span.traceId : undefined;
}
