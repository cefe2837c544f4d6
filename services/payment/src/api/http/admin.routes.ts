// Admin REST: the ledger totals the audit (docs/reference.md#audit) checks orders against, and
// the event store's admin side (docs/patterns/event-sourcing.md): a payment's stream and state at
// an instant, the shop's balance at an instant, and the rebuild of the projections.
import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import type { PaymentService } from '../../application/payments';
import { PAYMENT_STATUSES } from '../../domain/payment';
import { PAYMENT_EVENT_TYPES } from '../../domain/payment-events';

const sums = {
  authorized: z.number().int(),
  captured: z.number().int(),
  voided: z.number().int(),
  refunded: z.number().int(),
  declined: z.number().int(),
};

const summarySchema = z.object({
  totals: z.array(z.object({ currency: z.string(), ...sums })),
  orders: z.array(
    z.object({
      orderId: z.string(),
      currency: z.string(),
      status: z.enum(PAYMENT_STATUSES),
      ...sums,
      captureCount: z.number().int(),
      refundCount: z.number().int(),
      paymentIds: z.array(z.string()),
    }),
  ),
});

const instant = z.iso.datetime({ offset: true }).describe('An instant (ISO 8601, e.g. 2026-12-05T17:00:00Z)');
const money = z.object({ amount: z.number().int(), currency: z.string() });

const paymentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  status: z.enum(PAYMENT_STATUSES),
  amount: money,
  captured: money,
  refunded: money,
  cardLast4: z.string(),
  declineReason: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const streamSchema = z.object({
  paymentId: z.string(),
  at: z.string().nullable(),
  version: z.number().int(),
  payment: paymentSchema.nullable(),
  events: z.array(
    z.object({
      position: z.number().int(),
      version: z.number().int(),
      type: z.enum(PAYMENT_EVENT_TYPES as [string, ...string[]]),
      data: z.record(z.string(), z.unknown()),
      recordedAt: z.string(),
    }),
  ),
});

const balanceSchema = z.object({
  at: z.string(),
  position: z.number().int(),
  events: z.number().int(),
  totals: z.array(
    z.object({
      currency: z.string(),
      authorizedOpen: z.number().int(),
      captured: z.number().int(),
      refunded: z.number().int(),
      net: z.number().int(),
      payments: z.number().int(),
    }),
  ),
});

const rebuildSchema = z.object({
  streams: z.number().int(),
  events: z.number().int(),
  payments: z.number().int(),
  ledgerEntries: z.number().int(),
  durationMs: z.number().int(),
  appendConflicts: z.number().int(),
});

const projectionsSchema = z.object({
  payments: z.number().int(),
  ledgerEntries: z.number().int(),
  digest: z.string(),
});

export function registerAdminRoutes(app: HttpApp, deps: { payments: PaymentService; adminToken: string }): void {
  app.get(
    '/v1/admin/payments/summary',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: 'Ledger totals by currency and by order (authorized, captured, voided, refunded, declined)',
        querystring: z.object({}).strict(),
        response: { 200: summarySchema },
      },
    },
    async () => deps.payments.summary(),
  );

  app.get(
    '/v1/admin/payments/:paymentId/events',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: "A payment's events (up to `at`, if given) and its state then, folded from the event store alone",
        params: z.object({ paymentId: z.string().max(100) }),
        querystring: z.object({ at: instant.optional() }).strict(),
        response: { 200: streamSchema },
      },
    },
    async (request) => {
      const { paymentId } = request.params as { paymentId: string };
      const { at } = request.query as { at?: string };
      const s = await deps.payments.streamAt(paymentId, at ? new Date(at) : undefined);
      return {
        ...s,
        at: s.at ? s.at.toISOString() : null,
        events: s.events.map((e) => ({ ...e, recordedAt: e.recordedAt.toISOString() })),
      };
    },
  );

  app.get(
    '/v1/admin/payments/balance',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary:
          "The shop's balance at an instant (default now) from the event store alone: captured, refunded, net, authorizations still open",
        querystring: z.object({ at: instant.optional() }).strict(),
        response: { 200: balanceSchema },
      },
    },
    async (request) => {
      const { at } = request.query as { at?: string };
      const balance = await deps.payments.balanceAt(at ? new Date(at) : new Date());
      return { ...balance, at: balance.at.toISOString() };
    },
  );

  app.post(
    '/v1/admin/payments/rebuild',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary:
          'Empty the projections (payments, ledger_entries) and write them again from the event store, in one transaction',
        response: { 200: rebuildSchema },
      },
    },
    async () => ({ ...(await deps.payments.rebuild()), appendConflicts: deps.payments.appendConflicts }),
  );

  app.get(
    '/v1/admin/payments/projections',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: 'Row counts of the projections (payments, ledger_entries) and an md5 digest of every row, all columns',
        querystring: z.object({}).strict(),
        response: { 200: projectionsSchema },
      },
    },
    async () => deps.payments.projections(),
  );

  app.delete(
    '/v1/admin/payments/projections',
    {
      preHandler: requireAdminToken(deps.adminToken),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary:
          'Empty the projections (payments, ledger_entries), as if the read side were lost: the event store keeps every event, POST …/rebuild writes them again',
        response: { 200: projectionsSchema },
      },
    },
    async () => {
      await deps.payments.dropProjections();
      return deps.payments.projections();
    },
  );
}
