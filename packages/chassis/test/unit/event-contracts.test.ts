// The event payload schemas of @shoplab/contracts as the chassis applies them: a producer builds
// through the schema (createContractEvent), a consumer parses through it (parseEventData).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  eventContracts,
  OrderCancelledV1,
  OrderConfirmedV1,
  OrderCreatedV1,
  PAYMENT_EVENT_V1,
  PaymentAuthorizedV1,
  ProductCreatedV1,
  paymentEventsV1,
  stockEventsV1,
  UserRegisteredV1,
} from '@shoplab/contracts';
import {
  createContractEvent,
  createEvent,
  type DomainEvent,
  EVENT_TYPE_PATTERN,
  PoisonMessageError,
  parseEventData,
} from '../../src/messaging';

const usd = (amount: number) => ({ amount, currency: 'USD' });
const orderId = '6f1c2b1e-3d4a-4b5c-8d6e-7f8091a2b3c4';

const confirmedData = {
  orderId,
  userId: 'u-1',
  status: 'CONFIRMED' as const,
  lines: [{ productId: 'p-1', quantity: 2 }],
  total: usd(3998),
  paymentId: 'pay-1',
  cartVersion: 3,
  confirmedAt: '2026-12-05T10:00:00.000Z',
};

function withData(type: string, data: unknown): DomainEvent {
  return createEvent({ service: 'order', type, subject: orderId, data });
}

test('every contract has a type that follows the naming rule, and no two share one', () => {
  const contracts = [
    OrderCreatedV1,
    OrderConfirmedV1,
    OrderCancelledV1,
    ProductCreatedV1,
    ...Object.values(paymentEventsV1),
    ...Object.values(stockEventsV1),
  ];
  for (const c of contracts) assert.match(c.type, EVENT_TYPE_PATTERN);
  assert.equal(new Set(contracts.map((c) => c.type)).size, contracts.length);
  for (const c of Object.values(paymentEventsV1)) assert.match(c.type, PAYMENT_EVENT_V1);
});

test('createContractEvent gives the event the contract type and the data as the schema reads it', () => {
  const event = createContractEvent(OrderConfirmedV1, { service: 'order', subject: orderId, data: confirmedData });
  assert.equal(event.type, 'shop.order.confirmed.v1');
  assert.equal(event.source, '/shoplab/order');
  assert.deepEqual(event.data, confirmedData);
});

test('createContractEvent refuses data the schema refuses, so nothing invalid reaches an outbox', () => {
  assert.throws(() =>
    createContractEvent(OrderConfirmedV1, {
      service: 'order',
      subject: orderId,
      data: { ...confirmedData, lines: [] },
    }),
  );
  assert.throws(() =>
    createContractEvent(PaymentAuthorizedV1, {
      service: 'payment',
      subject: 'pay-1',
      // A card number's last four digits, never more.
      data: {
        paymentId: 'pay-1',
        orderId,
        status: 'AUTHORIZED',
        amount: usd(100),
        captured: usd(0),
        refunded: usd(0),
        cardLast4: '4242424242424242',
      },
    }),
  );
});

test('parseEventData reads an event of the contract and drops fields it does not know (forward compatible)', () => {
  const parsed = parseEventData(
    OrderConfirmedV1,
    withData(OrderConfirmedV1.type, { ...confirmedData, giftWrap: true }),
  );
  assert.deepEqual(parsed, confirmedData);
});

test('parseEventData throws PoisonMessageError naming the event and the field when the schema refuses the data', () => {
  const broken = withData(OrderConfirmedV1.type, { ...confirmedData, lines: [{ productId: 'p-1', quantity: -1 }] });
  assert.throws(
    () => parseEventData(OrderConfirmedV1, broken),
    (err: unknown) =>
      err instanceof PoisonMessageError &&
      err.message.includes(broken.id) &&
      err.message.includes('shop.order.confirmed.v1') &&
      err.message.includes('lines'),
  );
  const noReason = withData(OrderCancelledV1.type, {
    orderId,
    userId: 'u-1',
    status: 'CANCELLED',
    total: usd(1),
    cartVersion: 1,
    cancelledAt: '2026-12-05T10:00:00.000Z',
  });
  assert.throws(() => parseEventData(OrderCancelledV1, noReason), PoisonMessageError);
});

test('the stock movements share one shape and refuse a line without units', () => {
  const data = { reservationId: orderId, lines: [{ productId: 'p-1', quantity: 1 }] };
  for (const c of Object.values(stockEventsV1)) assert.deepEqual(parseEventData(c, withData(c.type, data)), data);
  assert.throws(
    () =>
      parseEventData(
        stockEventsV1.stock_reserved,
        withData(stockEventsV1.stock_reserved.type, { ...data, lines: [{ productId: 'p-1', quantity: 0 }] }),
      ),
    PoisonMessageError,
  );
});

test('the events that carry personal data say so, naming fields their schema has', () => {
  // The list a privacy review reads: an event added with a person's data must be marked here too.
  const marked = Object.fromEntries(
    eventContracts.filter((c) => c.personalData.length > 0).map((c) => [c.type, [...c.personalData]]),
  );
  assert.deepEqual(marked, {
    'shop.order.created.v1': ['userId', 'shippingAddress'],
    'shop.order.confirmed.v1': ['userId'],
    'shop.order.cancelled.v1': ['userId'],
    'shop.payment.authorized.v1': ['cardLast4'],
    'shop.user.registered.v1': ['id', 'email', 'name'],
    'shop.user.address_added.v1': ['userId', 'address'],
  });
  for (const c of eventContracts) {
    const shape = (c.schema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
    for (const field of c.personalData) assert.ok(field in shape, `${c.type} has no field ${field}`);
  }
  assert.equal(new Set(eventContracts.map((c) => c.type)).size, eventContracts.length, 'no two share a type');
});

test("a field that names a person's contact or address is marked wherever a contract carries it", () => {
  // A guard for new contracts: these field names are personal data in any event of this shop.
  const personal = new Set(['userId', 'email', 'shippingAddress', 'address', 'cardLast4', 'phone']);
  for (const c of eventContracts) {
    const shape = (c.schema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
    for (const field of Object.keys(shape)) {
      if (personal.has(field)) assert.ok(c.personalData.includes(field), `${c.type}: ${field} is not marked`);
    }
  }
  assert.deepEqual(UserRegisteredV1.personalData, ['id', 'email', 'name']);
  assert.ok(Object.isFrozen(UserRegisteredV1.personalData));
});
