// The audit (docs/reference.md#audit) as pure functions over the data the services' admin APIs
// return: `collect.ts` fetches it, `runAudit` judges it. Nothing here does I/O, so every
// invariant is tested over crafted data (test/unit/audit.test.ts).
import { z } from 'zod';

export const SERVICES = ['user', 'catalog', 'cart', 'payment', 'order'] as const;
export type Service = (typeof SERVICES)[number];

const money = z.object({ amount: z.number().int(), currency: z.string() });

/** order `GET /v1/admin/orders/audit`. */
export const auditedOrdersSchema = z.object({
  orders: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['PENDING', 'CONFIRMED', 'CANCELLED']),
      total: money,
      paymentId: z.string().nullable(),
      createdAt: z.string(),
    }),
  ),
});

/** payment `GET /v1/admin/payments/summary`. */
export const paymentSummarySchema = z.object({
  totals: z.array(z.object({ currency: z.string(), captured: z.number().int(), refunded: z.number().int() })),
  orders: z.array(
    z.object({
      orderId: z.string(),
      currency: z.string(),
      status: z.string(),
      captured: z.number().int(),
      refunded: z.number().int(),
      captureCount: z.number().int(),
      refundCount: z.number().int(),
      paymentIds: z.array(z.string()),
    }),
  ),
});

/** catalog `GET /v1/admin/stock`. */
export const stockReportSchema = z.object({
  products: z.array(
    z.object({
      id: z.string(),
      initial: z.number().int(),
      available: z.number().int(),
      reserved: z.number().int(),
      sold: z.number().int(),
      /** Units counted from shop.order.confirmed.v1 events (catalog's consumer); = sold once it caught up. */
      confirmedUnitsSold: z.number().int().optional(),
    }),
  ),
  reservationsByStatus: z.record(z.string(), z.number().int()),
  violations: z.array(z.string()),
});

/** catalog `GET /v1/admin/reservations`: every reservation's status by its id (the order id). */
export const reservationStatusesSchema = z.object({ statuses: z.record(z.string(), z.string()) });

/** chassis `GET /admin/outbox` and `GET /admin/consumers` (packages/chassis/src/admin-audit.ts). */
export const outboxReportSchema = z.object({
  unpublished: z.number().int(),
  published: z.number().int(),
  oldestUnpublishedAgeSeconds: z.number(),
  lastError: z.string().nullable(),
});
export const consumersReportSchema = z.object({
  groups: z.array(z.object({ group: z.string(), processed: z.number().int() })),
  duplicateIds: z.number().int(),
});

/** cart `GET /v1/admin/clearances`: the orders whose confirmation took their purchase out of a cart. */
export const clearancesSchema = z.object({
  clearances: z.array(z.object({ orderId: z.string(), userId: z.string(), eventId: z.string() })),
});

export type AuditedOrder = z.infer<typeof auditedOrdersSchema>['orders'][number];
export type PaymentSummary = z.infer<typeof paymentSummarySchema>;
export type StockReport = z.infer<typeof stockReportSchema>;
export type OutboxReport = z.infer<typeof outboxReportSchema>;
export type ConsumersReport = z.infer<typeof consumersReportSchema>;

/** One service's messaging, as far as it exposes it. */
export interface MessagingReport {
  service: Service;
  /** Absent when the service has no `/admin/outbox` (404) or could not be read (`error`). */
  outbox?: OutboxReport;
  consumers?: ConsumersReport;
  /** Why the outbox was not read: a 404 is a note, anything else an error. */
  note?: string;
  error?: string;
}

/** Everything the audit judges. */
export interface AuditData {
  orders: AuditedOrder[];
  payments: PaymentSummary;
  stock: StockReport;
  /** Reservation status per order id (CONFIRMED and CANCELLED orders); null when the catalog has none. */
  reservations: Record<string, string | null>;
  messaging: MessagingReport[];
  /** The cart's clearances; undefined when the cart has no such endpoint (an older cart: invariant 7 is skipped). */
  clearances?: z.infer<typeof clearancesSchema>['clearances'];
}

export type Verdict = 'PASS' | 'FAIL' | 'SKIP';

export interface InvariantResult {
  /** 1–7, as numbered in docs/reference.md#audit. */
  invariant: number;
  name: string;
  verdict: Verdict;
  counts: Record<string, number>;
  /** What broke (at most a few ids each), or why it was skipped. */
  details: string[];
}

export interface AuditReport {
  ok: boolean;
  checkedAt: string;
  results: InvariantResult[];
}

/** How many offending ids a result lists. */
const SHOWN = 5;

function result(
  invariant: number,
  name: string,
  failed: boolean,
  counts: Record<string, number>,
  details: string[] = [],
): InvariantResult {
  return { invariant, name, verdict: failed ? 'FAIL' : 'PASS', counts, details };
}

function shown(label: string, ids: string[]): string[] {
  if (ids.length === 0) return [];
  const more = ids.length > SHOWN ? ` (+${ids.length - SHOWN} more)` : '';
  return [`${label}: ${ids.slice(0, SHOWN).join(', ')}${more}`];
}

/** Payment rows summed per order id (an order paid in one currency has one row). */
function paymentsByOrder(payments: PaymentSummary) {
  const byOrder = new Map<string, { captured: number; refunded: number; captureCount: number; currencies: string[] }>();
  for (const p of payments.orders) {
    const sum = byOrder.get(p.orderId) ?? { captured: 0, refunded: 0, captureCount: 0, currencies: [] };
    sum.captured += p.captured;
    sum.refunded += p.refunded;
    sum.captureCount += p.captureCount;
    sum.currencies.push(p.currency);
    byOrder.set(p.orderId, sum);
  }
  return byOrder;
}

/** 1. Every accepted order reaches CONFIRMED or CANCELLED: none is PENDING (oldest listed first). */
export function checkOrdersSettled(data: Pick<AuditData, 'orders'>): InvariantResult {
  const pending = data.orders
    .filter((o) => o.status === 'PENDING')
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return result(
    1,
    'orders settled (none PENDING)',
    pending.length > 0,
    { orders: data.orders.length, pending: pending.length },
    shown(
      'oldest pending',
      pending.map((o) => `${o.id} (since ${o.createdAt})`),
    ),
  );
}

/** 2. A CONFIRMED order has exactly one capture, equal to its total, and its reservation COMMITTED. */
export function checkConfirmedOrders(data: Pick<AuditData, 'orders' | 'payments' | 'reservations'>): InvariantResult {
  const paid = paymentsByOrder(data.payments);
  const confirmed = data.orders.filter((o) => o.status === 'CONFIRMED');
  const badCapture: string[] = [];
  const notCommitted: string[] = [];
  for (const order of confirmed) {
    const p = paid.get(order.id);
    const exact =
      p !== undefined &&
      p.captureCount === 1 &&
      p.captured === order.total.amount &&
      p.currencies.every((c) => c === order.total.currency);
    if (!exact) {
      badCapture.push(
        `${order.id} (total ${order.total.amount} ${order.total.currency}, ` +
          `${p ? `${p.captureCount} capture(s) of ${p.captured} ${p.currencies.join('/')}` : 'no payment'})`,
      );
    }
    const reservation = data.reservations[order.id];
    if (reservation !== 'COMMITTED') notCommitted.push(`${order.id} (${reservation ?? 'no reservation'})`);
  }
  return result(
    2,
    'confirmed orders captured once and stock committed',
    badCapture.length + notCommitted.length > 0,
    { confirmed: confirmed.length, badCapture: badCapture.length, notCommitted: notCommitted.length },
    [...shown('capture ≠ total', badCapture), ...shown('reservation not COMMITTED', notCommitted)],
  );
}

/** 3. A CANCELLED order has no net capture (captured − refunded = 0) and no RESERVED reservation. */
export function checkCancelledOrders(data: Pick<AuditData, 'orders' | 'payments' | 'reservations'>): InvariantResult {
  const paid = paymentsByOrder(data.payments);
  const cancelled = data.orders.filter((o) => o.status === 'CANCELLED');
  const netCaptured: string[] = [];
  const stillReserved: string[] = [];
  for (const order of cancelled) {
    const p = paid.get(order.id);
    const net = p ? p.captured - p.refunded : 0;
    if (net !== 0) netCaptured.push(`${order.id} (net ${net})`);
    if (data.reservations[order.id] === 'RESERVED') stillReserved.push(order.id);
  }
  return result(
    3,
    'cancelled orders refunded and released',
    netCaptured.length + stillReserved.length > 0,
    { cancelled: cancelled.length, netCaptured: netCaptured.length, stillReserved: stillReserved.length },
    [...shown('net capture', netCaptured), ...shown('still RESERVED', stillReserved)],
  );
}

/** 4. Per product: initial = available + reserved + sold, none negative (and the catalog reports no violation). */
export function checkStock(data: Pick<AuditData, 'stock'>): InvariantResult {
  const { products, violations } = data.stock;
  const unbalanced = products.filter((p) => p.initial !== p.available + p.reserved + p.sold).map((p) => p.id);
  const negative = products.filter((p) => p.available < 0 || p.reserved < 0 || p.sold < 0).map((p) => p.id);
  const reported = violations.filter((id) => !unbalanced.includes(id));
  return result(
    4,
    'stock balanced (initial = available + reserved + sold)',
    unbalanced.length + negative.length + reported.length > 0,
    {
      products: products.length,
      unbalanced: unbalanced.length,
      negative: negative.length,
      catalogViolations: violations.length,
    },
    [...shown('unbalanced', unbalanced), ...shown('negative', negative), ...shown('reported by the catalog', reported)],
  );
}

/** 5. Captures − refunds = the sum of CONFIRMED order totals, per currency. */
export function checkLedger(data: Pick<AuditData, 'orders' | 'payments'>): InvariantResult {
  const net = new Map<string, number>();
  for (const t of data.payments.totals) net.set(t.currency, (net.get(t.currency) ?? 0) + t.captured - t.refunded);
  const confirmed = new Map<string, number>();
  for (const o of data.orders) {
    if (o.status === 'CONFIRMED') {
      confirmed.set(o.total.currency, (confirmed.get(o.total.currency) ?? 0) + o.total.amount);
    }
  }
  const currencies = [...new Set([...net.keys(), ...confirmed.keys()])].sort();
  const counts: Record<string, number> = {};
  const mismatches: string[] = [];
  for (const c of currencies) {
    const ledger = net.get(c) ?? 0;
    const orders = confirmed.get(c) ?? 0;
    counts[`net${c}`] = ledger;
    counts[`confirmed${c}`] = orders;
    if (ledger !== orders) mismatches.push(`${c}: captures − refunds ${ledger} ≠ confirmed totals ${orders}`);
  }
  return result(5, 'ledger matches confirmed totals', mismatches.length > 0, counts, mismatches);
}

/**
 * 6. Every outbox row published; no consumer applied an event id twice; and nothing lost on the
 * way: every CONFIRMED order reached the cart (a clearance) and the catalog (units counted from
 * the events = units sold by the sagas, per product).
 */
export function checkMessaging(
  data: Pick<AuditData, 'messaging'> & Partial<Pick<AuditData, 'orders' | 'stock' | 'clearances'>>,
): InvariantResult {
  let unpublished = 0;
  let published = 0;
  let duplicates = 0;
  let processed = 0;
  let audited = 0;
  const details: string[] = [];
  let failed = false;
  for (const m of data.messaging) {
    if (m.error) {
      failed = true;
      details.push(`${m.service}: could not be read (${m.error})`);
      continue;
    }
    if (!m.outbox) {
      details.push(`${m.service}: ${m.note ?? 'no outbox'} (skipped)`);
      continue;
    }
    audited++;
    unpublished += m.outbox.unpublished;
    published += m.outbox.published;
    if (m.outbox.unpublished > 0) {
      failed = true;
      details.push(
        `${m.service}: ${m.outbox.unpublished} unpublished, oldest ${Math.round(m.outbox.oldestUnpublishedAgeSeconds)} s` +
          (m.outbox.lastError ? `, last error: ${m.outbox.lastError}` : ''),
      );
    }
    if (m.consumers) {
      duplicates += m.consumers.duplicateIds;
      processed += m.consumers.groups.reduce((sum, g) => sum + g.processed, 0);
      if (m.consumers.duplicateIds > 0) {
        failed = true;
        details.push(`${m.service}: ${m.consumers.duplicateIds} event id(s) applied twice`);
      }
    }
  }
  if (audited === 0) {
    return { invariant: 6, name: 'outbox published', verdict: 'SKIP', counts: {}, details };
  }
  const counts: Record<string, number> = {
    services: audited,
    published,
    unpublished,
    processed,
    duplicateIds: duplicates,
  };
  const confirmed = (data.orders ?? []).filter((o) => o.status === 'CONFIRMED').map((o) => o.id);
  if (data.clearances) {
    const cleared = new Set(data.clearances.map((c) => c.orderId));
    const missing = confirmed.filter((id) => !cleared.has(id));
    counts.notReachedCart = missing.length;
    if (missing.length > 0) {
      failed = true;
      details.push(...shown('confirmed, never reached the cart', missing));
    }
  }
  const uncounted = (data.stock?.products ?? []).filter(
    (p) => p.confirmedUnitsSold !== undefined && p.confirmedUnitsSold !== p.sold,
  );
  if (data.stock) {
    counts.catalogUncounted = uncounted.length;
    if (uncounted.length > 0) {
      failed = true;
      details.push(
        ...shown(
          'sold ≠ units counted from confirmed events',
          uncounted.map((p) => `${p.id} (sold ${p.sold}, counted ${p.confirmedUnitsSold})`),
        ),
      );
    }
  }
  return result(6, 'outbox published, events applied once, none lost', failed, counts, details);
}

/** 7. A cart is cleared only by a confirmed order: every clearance the cart recorded names a CONFIRMED order. */
export function checkCarts(data: Partial<Pick<AuditData, 'orders' | 'clearances'>>): InvariantResult {
  const name = 'carts cleared only by confirmed orders';
  if (!data.clearances) {
    return { invariant: 7, name, verdict: 'SKIP', counts: {}, details: ['the cart has no /v1/admin/clearances'] };
  }
  const status = new Map((data.orders ?? []).map((o) => [o.id, o.status]));
  const wrong = data.clearances
    .filter((c) => status.get(c.orderId) !== 'CONFIRMED')
    .map((c) => `${c.orderId} (${status.get(c.orderId) ?? 'unknown order'})`);
  return result(7, name, wrong.length > 0, { clearances: data.clearances.length, notConfirmed: wrong.length }, [
    ...shown('cleared by an order that is not CONFIRMED', wrong),
  ]);
}

/** Runs every check. `ok` is false when any invariant FAILs (SKIPs do not fail the audit). */
export function runAudit(data: AuditData, now: Date = new Date()): AuditReport {
  const results = [
    checkOrdersSettled(data),
    checkConfirmedOrders(data),
    checkCancelledOrders(data),
    checkStock(data),
    checkLedger(data),
    checkMessaging(data),
    checkCarts(data),
  ];
  return { ok: results.every((r) => r.verdict !== 'FAIL'), checkedAt: now.toISOString(), results };
}

/** The report as text: one `PASS|FAIL|SKIP  <name>  <counts>` line per invariant, details indented. */
export function formatReport(report: AuditReport): string {
  const lines: string[] = [];
  for (const r of report.results) {
    const counts = Object.entries(r.counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`${r.verdict.padEnd(4)}  ${r.invariant}. ${r.name}${counts ? `  ${counts}` : ''}`);
    for (const d of r.details) lines.push(`        ${d}`);
  }
  const failed = report.results.filter((r) => r.verdict === 'FAIL').length;
  lines.push(failed === 0 ? 'audit: every checked invariant holds' : `audit: ${failed} invariant(s) FAIL`);
  return `${lines.join('\n')}\n`;
}
