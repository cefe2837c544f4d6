import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AuditData,
  type AuditedOrder,
  checkCancelledOrders,
  checkCarts,
  checkConfirmedOrders,
  checkLedger,
  checkMessaging,
  checkOrdersSettled,
  checkStock,
  formatReport,
  type PaymentSummary,
  runAudit,
} from '../../src/audit';

function order(id: string, status: AuditedOrder['status'], amount = 1000, createdAt = '2026-11-27T10:00:00.000Z') {
  return { id, status, total: { amount, currency: 'USD' }, paymentId: null, createdAt };
}

function payment(orderId: string, captured: number, refunded = 0, captureCount = captured > 0 ? 1 : 0) {
  return {
    orderId,
    currency: 'USD',
    status: refunded > 0 ? 'REFUNDED' : captured > 0 ? 'CAPTURED' : 'VOIDED',
    captured,
    refunded,
    captureCount,
    refundCount: refunded > 0 ? 1 : 0,
    paymentIds: [`pay-${orderId}`],
  };
}

function summary(orders: PaymentSummary['orders']): PaymentSummary {
  const captured = orders.reduce((s, o) => s + o.captured, 0);
  const refunded = orders.reduce((s, o) => s + o.refunded, 0);
  return { totals: orders.length ? [{ currency: 'USD', captured, refunded }] : [], orders };
}

/** A shop where everything holds: one confirmed order, one cancelled (refunded) order. */
function healthy(): AuditData {
  return {
    orders: [order('o-1', 'CONFIRMED', 1000), order('o-2', 'CANCELLED', 500)],
    payments: summary([payment('o-1', 1000), payment('o-2', 500, 500)]),
    stock: {
      products: [{ id: 'p-mug', initial: 10, available: 7, reserved: 0, sold: 3, confirmedUnitsSold: 3 }],
      reservationsByStatus: { RESERVED: 0, COMMITTED: 1, RELEASED: 1, RESTOCKED: 0 },
      violations: [],
    },
    reservations: { 'o-1': 'COMMITTED', 'o-2': 'RELEASED' },
    messaging: [
      {
        service: 'order',
        outbox: { unpublished: 0, published: 4, oldestUnpublishedAgeSeconds: 0, lastError: null },
        consumers: { groups: [{ group: 'order.payment-events', processed: 2 }], duplicateIds: 0 },
      },
      { service: 'user', note: 'no /admin/outbox' },
    ],
    clearances: [{ orderId: 'o-1', userId: 'u-1', eventId: 'e-1' }],
  };
}

describe('1. orders settled', () => {
  test('passes when no order is PENDING', () => {
    const r = checkOrdersSettled(healthy());
    assert.equal(r.verdict, 'PASS');
    assert.deepEqual(r.counts, { orders: 2, pending: 0 });
  });

  test('fails on a PENDING order and lists the oldest first', () => {
    const r = checkOrdersSettled({
      orders: [
        order('young', 'PENDING', 1, '2026-11-27T12:00:00.000Z'),
        order('old', 'PENDING', 1, '2026-11-27T08:00:00.000Z'),
        order('done', 'CONFIRMED'),
      ],
    });
    assert.equal(r.verdict, 'FAIL');
    assert.equal(r.counts.pending, 2);
    assert.match(r.details[0] ?? '', /oldest pending: old .*, young/);
  });
});

describe('2. confirmed orders', () => {
  test('pass with exactly one capture equal to the total and the reservation committed', () => {
    assert.equal(checkConfirmedOrders(healthy()).verdict, 'PASS');
  });

  test('fail when a confirmed order was captured twice', () => {
    const data = healthy();
    data.payments = summary([payment('o-1', 2000, 0, 2), payment('o-2', 500, 500)]);
    const r = checkConfirmedOrders(data);
    assert.equal(r.verdict, 'FAIL');
    assert.equal(r.counts.badCapture, 1);
  });

  test('fail when the capture differs from the total', () => {
    const data = healthy();
    data.payments = summary([payment('o-1', 999), payment('o-2', 500, 500)]);
    assert.equal(checkConfirmedOrders(data).counts.badCapture, 1);
  });

  test('fail when a confirmed order has no payment at all', () => {
    const data = healthy();
    data.payments = summary([payment('o-2', 500, 500)]);
    const r = checkConfirmedOrders(data);
    assert.equal(r.verdict, 'FAIL');
    assert.match(r.details.join('\n'), /o-1 .*no payment/);
  });

  test('fail when the stock of a confirmed order is still only reserved, or has no reservation', () => {
    const data = healthy();
    data.reservations['o-1'] = 'RESERVED';
    assert.equal(checkConfirmedOrders(data).counts.notCommitted, 1);
    data.reservations['o-1'] = null;
    const r = checkConfirmedOrders(data);
    assert.equal(r.verdict, 'FAIL');
    assert.match(r.details.join('\n'), /no reservation/);
  });
});

describe('3. cancelled orders', () => {
  test('pass when the capture was refunded and the stock released', () => {
    assert.equal(checkCancelledOrders(healthy()).verdict, 'PASS');
  });

  test('pass when a cancelled order never reached payment or the catalog', () => {
    const r = checkCancelledOrders({
      orders: [order('o-9', 'CANCELLED')],
      payments: summary([]),
      reservations: { 'o-9': null },
    });
    assert.equal(r.verdict, 'PASS');
  });

  test('fail when a cancelled order kept a net capture', () => {
    const data = healthy();
    data.payments = summary([payment('o-1', 1000), payment('o-2', 500, 200)]);
    const r = checkCancelledOrders(data);
    assert.equal(r.verdict, 'FAIL');
    assert.match(r.details.join('\n'), /o-2 \(net 300\)/);
  });

  test('fail when a cancelled order still holds a reservation', () => {
    const data = healthy();
    data.reservations['o-2'] = 'RESERVED';
    const r = checkCancelledOrders(data);
    assert.equal(r.verdict, 'FAIL');
    assert.equal(r.counts.stillReserved, 1);
  });
});

describe('4. stock', () => {
  test('passes when initial = available + reserved + sold for every product', () => {
    assert.equal(checkStock(healthy()).verdict, 'PASS');
  });

  test('fails on an unbalanced product', () => {
    const data = healthy();
    data.stock.products.push({ id: 'p-lost', initial: 10, available: 5, reserved: 1, sold: 3 });
    const r = checkStock(data);
    assert.equal(r.verdict, 'FAIL');
    assert.deepEqual(r.details, ['unbalanced: p-lost']);
  });

  test('fails on a negative counter even when the sum balances', () => {
    const data = healthy();
    data.stock.products.push({ id: 'p-neg', initial: 2, available: -1, reserved: 0, sold: 3 });
    const r = checkStock(data);
    assert.equal(r.verdict, 'FAIL');
    assert.equal(r.counts.negative, 1);
  });

  test('fails when the catalog itself reports a violation', () => {
    const data = healthy();
    data.stock.violations = ['p-mug'];
    assert.equal(checkStock(data).verdict, 'FAIL');
  });
});

describe('5. ledger', () => {
  test('passes when captures − refunds equal the confirmed totals', () => {
    const r = checkLedger(healthy());
    assert.equal(r.verdict, 'PASS');
    assert.deepEqual(r.counts, { netUSD: 1000, confirmedUSD: 1000 });
  });

  test('fails when money was captured for no confirmed order', () => {
    const data = healthy();
    data.payments = summary([payment('o-1', 1000), payment('o-2', 500, 0)]);
    const r = checkLedger(data);
    assert.equal(r.verdict, 'FAIL');
    assert.match(r.details[0] ?? '', /USD: captures − refunds 1500 ≠ confirmed totals 1000/);
  });

  test('fails when a currency is confirmed but never captured', () => {
    const data = healthy();
    data.orders.push({ ...order('o-eur', 'CONFIRMED', 300), total: { amount: 300, currency: 'EUR' } });
    const r = checkLedger(data);
    assert.equal(r.verdict, 'FAIL');
    assert.equal(r.counts.confirmedEUR, 300);
    assert.equal(r.counts.netEUR, 0);
  });
});

describe('6. outbox and consumers', () => {
  test('passes when every outbox row is published, noting the services without an outbox', () => {
    const r = checkMessaging(healthy());
    assert.equal(r.verdict, 'PASS');
    assert.deepEqual(r.counts, {
      services: 1,
      published: 4,
      unpublished: 0,
      processed: 2,
      duplicateIds: 0,
      notReachedCart: 0,
      catalogUncounted: 0,
    });
    assert.deepEqual(r.details, ['user: no /admin/outbox (skipped)']);
  });

  test('fails on an unpublished row and shows its age and last error', () => {
    const r = checkMessaging({
      messaging: [
        {
          service: 'payment',
          outbox: { unpublished: 3, published: 1, oldestUnpublishedAgeSeconds: 42.4, lastError: 'broker down' },
        },
      ],
    });
    assert.equal(r.verdict, 'FAIL');
    assert.deepEqual(r.details, ['payment: 3 unpublished, oldest 42 s, last error: broker down']);
  });

  test('fails when a service could not be read', () => {
    const r = checkMessaging({ messaging: [...healthy().messaging, { service: 'payment', error: 'ECONNREFUSED' }] });
    assert.equal(r.verdict, 'FAIL');
  });

  test('fails on an event id applied twice', () => {
    const data = healthy();
    const first = data.messaging[0];
    assert.ok(first?.consumers);
    first.consumers.duplicateIds = 1;
    assert.equal(checkMessaging(data).verdict, 'FAIL');
  });

  test('fails when a confirmed order never reached the cart (a lost event)', () => {
    const data = healthy();
    data.orders.push(order('o-lost', 'CONFIRMED', 700));
    const r = checkMessaging(data);
    assert.equal(r.verdict, 'FAIL');
    assert.equal(r.counts.notReachedCart, 1);
    assert.match(r.details.join('\n'), /confirmed, never reached the cart.*o-lost/);
  });

  test('fails when the catalog counted fewer units from events than the sagas sold', () => {
    const data = healthy();
    const mug = data.stock.products[0];
    assert.ok(mug);
    mug.confirmedUnitsSold = 1;
    const r = checkMessaging(data);
    assert.equal(r.verdict, 'FAIL');
    assert.match(r.details.join('\n'), /p-mug \(sold 3, counted 1\)/);
  });

  test('is skipped when no service exposes an outbox', () => {
    assert.equal(checkMessaging({ messaging: [{ service: 'user', note: 'no /admin/outbox' }] }).verdict, 'SKIP');
  });
});

describe('7. carts', () => {
  test('pass when every clearance names a confirmed order', () => {
    const r = checkCarts(healthy());
    assert.equal(r.verdict, 'PASS');
    assert.deepEqual(r.counts, { clearances: 1, notConfirmed: 0 });
  });

  test('fail when a cancelled (or unknown) order cleared a cart', () => {
    const data = healthy();
    data.clearances?.push(
      { orderId: 'o-2', userId: 'u-2', eventId: 'e-2' },
      { orderId: 'o-x', userId: 'u', eventId: 'e' },
    );
    const r = checkCarts(data);
    assert.equal(r.verdict, 'FAIL');
    assert.equal(r.counts.notConfirmed, 2);
    assert.match(r.details.join('\n'), /o-2 \(CANCELLED\).*o-x \(unknown order\)/);
  });

  test('are skipped when the cart has no clearances endpoint', () => {
    const { clearances: _, ...data } = healthy();
    assert.equal(checkCarts(data).verdict, 'SKIP');
  });
});

describe('the report', () => {
  test('a healthy shop passes every check and is printed one line per invariant', () => {
    const report = runAudit(healthy(), new Date('2026-11-27T12:00:00Z'));
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.results.map((r) => r.verdict),
      ['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS'],
    );
    const text = formatReport(report);
    assert.match(text, /^PASS {2}1\. orders settled \(none PENDING\) {2}orders=2 pending=0$/m);
    assert.match(text, /^PASS {2}7\. carts/m);
    assert.match(text, /every checked invariant holds/);
  });

  test('one broken invariant makes the report not ok', () => {
    const data = healthy();
    data.reservations['o-2'] = 'RESERVED';
    const report = runAudit(data);
    assert.equal(report.ok, false);
    assert.match(formatReport(report), /^FAIL {2}3\. cancelled orders/m);
  });
});
