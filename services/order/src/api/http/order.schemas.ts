// The JSON shapes of the order service's REST API (OpenAPI is generated from them).

import { z } from 'zod';
import { CHECKOUT_MODES } from '../../domain/checkout-mode';
import { ORDER_STATUSES, TIMELINE_KINDS, TIMELINE_SORTS } from '../../domain/order';

export const moneySchema = z.object({
  amount: z.number().int().describe('integer minor units (cents)'),
  currency: z.string().length(3),
});

export const postalAddressSchema = z.object({
  line1: z.string().trim().min(1).max(200),
  line2: z.string().trim().max(200).optional(),
  city: z.string().trim().min(1).max(100),
  postalCode: z.string().trim().min(1).max(20),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code, e.g. US')
    .describe('ISO 3166-1 alpha-2'),
});

export const shippingAddressSchema = z.union([
  postalAddressSchema,
  z.object({ addressId: z.string().min(1).max(100).describe('one of the caller’s saved addresses') }),
]);

export const orderLineSchema = z.object({
  productId: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  unitPrice: moneySchema,
  lineTotal: moneySchema,
});

export const timelineEntrySchema = z.object({
  kind: z
    .enum(TIMELINE_KINDS)
    .describe('`step`: an attempt of a saga step or compensation; `event`: a payment event the order service received'),
  step: z.string().describe('the saga step (`capture_payment`, `compensate:release_stock`) or the event type'),
  attempt: z.number().int().describe('1 for an event'),
  outcome: z
    .string()
    .describe('STARTED, SUCCEEDED, FAILED (retried), REFUSED (business refusal), INTERRUPTED; RECEIVED for an event'),
  errorCode: z.string().optional().describe('e.g. SHOP_PAYMENT_DECLINED'),
  error: z.string().optional(),
  traceId: z.string().optional(),
  startedAt: z.string().describe('an event: when the payment service wrote it'),
  finishedAt: z.string().optional().describe('an event: when the order service recorded it'),
  lamport: z
    .number()
    .int()
    .optional()
    .describe('Lamport time: a step’s from the order service when it started, an event’s from its producer'),
  hlc: z
    .string()
    .optional()
    .describe(
      'hybrid logical clock, `<15-digit ms>-<6-digit counter>`: string order is causal order (absent on entries from before the clocks)',
    ),
});

/** `?sort=` of an order's timeline. */
export const timelineSortSchema = z
  .enum(TIMELINE_SORTS)
  .default('wall')
  .describe(
    'the timeline’s order: `wall` by startedAt (each service’s own wall clock; the default), `hlc` by the hybrid logical clock (causal order)',
  );

export const orderSchema = z.object({
  id: z.uuid(),
  userId: z.string(),
  status: z.enum(ORDER_STATUSES),
  lines: z.array(orderLineSchema),
  total: moneySchema,
  shippingAddress: shippingAddressSchema.optional(),
  cancelReason: z.string().optional(),
  paymentId: z.string().optional(),
  checkoutMode: z
    .enum(CHECKOUT_MODES)
    .describe(
      'how it was checked out: the saga (`orchestrated`), services reacting to events (`choreographed`), or `two-phase`',
    ),
  timeline: z
    .array(timelineEntrySchema)
    .describe(
      'the checkout saga’s steps, compensations and attempts, and the payment events, in time order (or HLC order with `?sort=hlc`), with errors, trace ids and logical clocks',
    ),
  createdAt: z.string(),
  updatedAt: z.string(),
});
