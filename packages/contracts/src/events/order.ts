// The order service's events (topic order.events, subject = order id). Never the card. Each says
// which of its fields are personal data (the buyer's id, the shipping address): contract.ts.
import { z } from 'zod';
import { defineEvent, idSchema, moneySchema, quantityLineSchema } from './contract';

const postalAddress = z.object({
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  postalCode: z.string(),
  country: z.string(),
});

/** An order line as priced at checkout. */
export const pricedLineSchema = quantityLineSchema.extend({
  /** The product's name at checkout. */
  name: z.string(),
  unitPrice: moneySchema,
  lineTotal: moneySchema,
});

/** shop.order.created.v1: a PENDING order whose saga has yet to run. */
export const OrderCreatedV1 = defineEvent(
  'shop.order.created.v1',
  z.object({
    orderId: idSchema,
    userId: idSchema,
    status: z.literal('PENDING'),
    lines: z.array(pricedLineSchema).min(1),
    total: moneySchema,
    /** As given at checkout; null means the user's default address (resolved by the saga). */
    shippingAddress: z.union([postalAddress, z.object({ addressId: idSchema })]).nullable(),
    cartVersion: z.number().int().nonnegative(),
    createdAt: z.iso.datetime({ offset: true }),
    /**
     * How the order is checked out (absent on events from before the modes: `orchestrated`).
     * `choreographed`: the catalog reserves on this event, and the rest follows from the events
     * each service emits (docs/patterns/choreography.md).
     */
    checkoutMode: z.enum(['orchestrated', 'choreographed', 'two-phase']).optional(),
  }),
  { personalData: ['userId', 'shippingAddress'] },
);

/** shop.order.confirmed.v1: cart takes the purchase out, catalog counts the sale, user logs a notification. */
export const OrderConfirmedV1 = defineEvent(
  'shop.order.confirmed.v1',
  z.object({
    orderId: idSchema,
    userId: idSchema,
    status: z.literal('CONFIRMED'),
    /** name, unitPrice and lineTotal were added within v1: optional, so earlier events still parse. */
    lines: z
      .array(
        quantityLineSchema.extend({
          name: z.string().optional(),
          unitPrice: moneySchema.optional(),
          lineTotal: moneySchema.optional(),
        }),
      )
      .min(1),
    total: moneySchema,
    paymentId: idSchema.nullable(),
    /** The cart version the order bought. */
    cartVersion: z.number().int().nonnegative(),
    confirmedAt: z.iso.datetime({ offset: true }),
  }),
  { personalData: ['userId'] },
);

/** shop.order.cancelled.v1: the order ended without a sale, with the saga's reason. */
export const OrderCancelledV1 = defineEvent(
  'shop.order.cancelled.v1',
  z.object({
    orderId: idSchema,
    userId: idSchema,
    status: z.literal('CANCELLED'),
    /** `payment_declined`, `step_deadline_exceeded:capture_payment`, … */
    reason: z.string().min(1).max(2000),
    total: moneySchema,
    cartVersion: z.number().int().nonnegative(),
    cancelledAt: z.iso.datetime({ offset: true }),
  }),
  { personalData: ['userId'] },
);
