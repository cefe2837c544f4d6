// Zod schemas of the public API: they validate requests, shape responses and are the
// OpenAPI document (served at /openapi.json, browsable at /docs).
import { z } from 'zod';

export const moneySchema = z
  .object({ amount: z.number().int().describe('integer minor units (cents)'), currency: z.string() })
  .describe('Money: `{ amount: 1999, currency: "USD" }`');

export const degradedSchema = z
  .array(z.enum(['stock', 'catalog', 'products', 'payment', 'orders', 'cart', 'shipment']))
  .optional()
  .describe('Parts left out because a downstream failed; absent when the answer is complete');

export const productSchema = z.object({
  id: z.string(),
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  price: moneySchema,
  available: z.number().int().nullable().describe('units in stock now; null when the live stock is unknown'),
  imageUrl: z.string().nullable(),
});

export const productPageSchema = z.object({ items: z.array(productSchema), nextCursor: z.string().nullable() });

export const productDetailSchema = productSchema.extend({ degraded: degradedSchema });

export const cartSchema = z.object({
  lines: z.array(
    z.object({
      productId: z.string(),
      name: z.string().nullable(),
      quantity: z.number().int(),
      unitPrice: moneySchema.describe('the price when the line was last changed'),
      currentPrice: moneySchema.nullable().describe("the catalog's price now"),
      available: z.number().int().nullable(),
      lineTotal: moneySchema,
    }),
  ),
  total: moneySchema,
  itemCount: z.number().int(),
  version: z.number().int(),
  updatedAt: z.string().nullable(),
  degraded: degradedSchema,
});

export const orderStatusSchema = z.enum(['PENDING', 'CONFIRMED', 'CANCELLED', 'UNKNOWN']);

export const sagaStepSchema = z.object({
  kind: z
    .enum(['step', 'event'])
    .describe('`step`: an attempt of a saga step or compensation; `event`: a payment event the order service received'),
  step: z.string().describe('the saga step (`capture_payment`, `compensate:release_stock`) or the event type'),
  attempt: z.number().int().describe('1 for an event'),
  outcome: z
    .string()
    .describe('STARTED, SUCCEEDED, FAILED (retried), REFUSED (business refusal), INTERRUPTED; RECEIVED for an event'),
  error: z.string().nullable(),
  traceId: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  lamport: z
    .number()
    .int()
    .nullable()
    .describe('Lamport time: a step’s from the order service when it started, an event’s from its producer'),
  hlc: z
    .string()
    .nullable()
    .describe('hybrid logical clock, `<15-digit ms>-<6-digit counter>`: string order is causal order'),
});

/** `?sort=` of an order's timeline. */
export const timelineSortSchema = z
  .enum(['wall', 'hlc'])
  .default('wall')
  .describe(
    'the timeline’s order: `wall` by startedAt (each service’s own wall clock; the default), `hlc` by the hybrid logical clock (causal order)',
  );

const orderLineSchema = z.object({
  productId: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  unitPrice: moneySchema,
  lineTotal: moneySchema,
});

const orderFields = {
  id: z.string(),
  userId: z.string(),
  status: orderStatusSchema,
  total: moneySchema,
  cancelReason: z.string().nullable(),
  paymentId: z.string().nullable(),
  timeline: z.array(sagaStepSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
};

export const orderSchema = z.object({ ...orderFields, lines: z.array(orderLineSchema) });

export const orderPageSchema = z.object({ items: z.array(orderSchema), nextCursor: z.string().nullable() });

export const paymentSchema = z.object({
  id: z.string(),
  status: z.enum(['AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED', 'DECLINED', 'UNKNOWN']),
  amount: moneySchema,
  captured: moneySchema,
  refunded: moneySchema,
  cardLast4: z.string().nullable(),
});

export const shipmentSchema = z
  .object({
    id: z.string(),
    status: z.enum(['BOOKED', 'IN_TRANSIT', 'DELIVERED', 'CANCELLED', 'UNKNOWN']),
    trackingNumber: z.string().describe("the carrier's reference"),
    price: moneySchema,
    updatedAt: z.string(),
  })
  .describe('The shipment of a confirmed order (services/shipping)');

export const composedOrderSchema = z.object({
  ...orderFields,
  lines: z.array(
    orderLineSchema.extend({
      product: z.object({ name: z.string(), imageUrl: z.string().nullable(), category: z.string() }).nullable(),
    }),
  ),
  payment: paymentSchema.nullable().describe('null when no payment was made yet'),
  shipment: shipmentSchema
    .nullable()
    .describe('null until the confirmed order is shipped (and for an order never confirmed)'),
  degraded: degradedSchema,
});

export const profileSchema = z.object({
  user: z.object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    addresses: z.array(
      z.object({
        id: z.string(),
        line1: z.string(),
        line2: z.string().nullable(),
        city: z.string(),
        postalCode: z.string(),
        country: z.string(),
        isDefault: z.boolean(),
      }),
    ),
    createdAt: z.string(),
  }),
  recentOrders: z
    .array(
      z.object({
        id: z.string(),
        status: orderStatusSchema,
        total: moneySchema,
        itemCount: z.number().int(),
        createdAt: z.string(),
      }),
    )
    .nullable(),
  cart: z.object({ itemCount: z.number().int(), version: z.number().int() }).nullable(),
  degraded: degradedSchema,
});

/**
 * Text a service takes after trimming: at least one character that is not blank (JavaScript's
 * whitespace, BOM included), no NUL. The pattern says so in the OpenAPI document too.
 */
export const nonBlankText = (max: number) =>
  z
    .string()
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern is there to refuse NUL
    .regex(/^[^\u0000]*[^\s\u0000\ufeff][^\u0000]*$/, 'must not be blank');

/** Text a person typed (a name, an address line): not blank, no control characters (the user service's rule). */
export const personalText = (max: number) =>
  z
    .string()
    .max(max)
    .regex(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern is there to refuse control characters
      /^[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f\ufeff][^\u0000-\u001f\u007f]*$/,
      'not blank, no control characters',
    );

/** Every error answer: RFC 9457 problem details with a stable `code` (the chassis's one schema). */
export { problemResponses, problemSchema } from '@shoplab/chassis';

/** Cursors are opaque strings handed out by the services; none is longer. */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional().describe('`nextCursor` of the previous page'),
});

export const userBearer = [{ bearerAuth: [] }];
export const adminBearer = [{ adminToken: [] }];
