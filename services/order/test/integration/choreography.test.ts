// The order service's reactions in a choreographed checkout (infrastructure/choreography.consumer.ts)
// on the harness's real PostgreSQL: a checkout in the `choreographed` mode, then the events the
// catalog and payment would send, applied as the consumer applies them (in a transaction).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createContractEvent, createLogger, type DomainEvent, ShopError } from '@shoplab/chassis';
import {
  PaymentCapturedV1,
  StockCommittedV1,
  StockRefusedV1,
  StockReleasedV1,
  StockReservedV1,
} from '@shoplab/contracts';
import type { Payments } from '../../src/application/ports';
import type { Card } from '../../src/domain/checkout-request';
import { AesGcmCardVault } from '../../src/infrastructure/card-vault';
import { type ChoreographyDeps, reactToEvent } from '../../src/infrastructure/choreography.consumer';
import { orderRow, placeOrder as placeSharedOrder } from '../support/choreography';
import { type Harness, startHarness, VISA } from '../support/harness';

let h: Harness;
const log = createLogger({ service: 'order', level: 'silent' });
const lines = [{ productId: 'p-choreo', quantity: 2 }];

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-choreo', { name: 'A Choreographed Mug', price: 700 });
});

after(async () => {
  await h.close();
});

const placeOrder = (mode: string) => placeSharedOrder(h, mode, lines);

/** A payment service that records what it was asked and answers as `answer` says. */
function payments(answer: () => { id: string } | Error) {
  const calls: { orderId: string; card: Card; key: string }[] = [];
  const fake = {
    async authorize(orderId: string, _amount: unknown, card: Card, options: { idempotencyKey: string }) {
      calls.push({ orderId, card, key: options.idempotencyKey });
      const a = answer();
      if (a instanceof Error) throw a;
      return { id: a.id, status: 'AUTHORIZED' };
    },
  } as unknown as Payments;
  return { fake, calls };
}

function deps(p: Payments, recordEvents = true): ChoreographyDeps {
  return {
    payments: p,
    vault: new AesGcmCardVault(h.config.CARD_ENCRYPTION_KEY),
    paymentDeadlineMs: 1_000,
    recordEvents,
  };
}

function react(event: DomainEvent, d: ChoreographyDeps) {
  return h.prisma.$transaction((tx) => reactToEvent(event, tx, d, log));
}

const stockEvent = (
  contract: typeof StockReservedV1 | typeof StockReleasedV1 | typeof StockCommittedV1,
  orderId: string,
) => createContractEvent(contract, { service: 'catalog', subject: orderId, data: { reservationId: orderId, lines } });

const row = (orderId: string) => orderRow(h, orderId);

test('a choreographed checkout writes no saga, and order.created says how it is checked out', async () => {
  const orderId = await placeOrder('choreographed');
  const r = await row(orderId);
  assert.equal(r.order?.checkout_mode, 'choreographed');
  assert.equal(r.sagas, 0);
  assert.equal(r.cards, 1);
  assert.equal(r.events[0]?.event_type, 'shop.order.created.v1');
  assert.match(JSON.stringify(r.events[0]?.payload), /"checkoutMode":"choreographed"/);
});

test('stock reserved: the card goes to payment once, under the choreography’s key, and is forgotten; capture and commit confirm', async () => {
  const orderId = await placeOrder('choreographed');
  const p = payments(() => ({ id: 'pay-choreo-1' }));
  assert.equal(await react(stockEvent(StockReservedV1, orderId), deps(p.fake)), 'authorized');
  assert.equal(p.calls.length, 1);
  assert.equal(p.calls[0]?.key, `${orderId}:choreography:authorize_payment`);
  assert.equal(p.calls[0]?.card.number.replace(/\s/g, ''), VISA.number.replace(/\s/g, ''));
  let r = await row(orderId);
  assert.equal(r.cards, 0, 'the card is deleted once handed over');
  assert.equal(r.order?.payment_id, 'pay-choreo-1');

  // Redelivered: the card is gone, payment is not asked again.
  await react(stockEvent(StockReservedV1, orderId), deps(p.fake));
  assert.equal(p.calls.length, 1);

  const captured = createContractEvent(PaymentCapturedV1, {
    service: 'payment',
    subject: 'pay-choreo-1',
    data: {
      paymentId: 'pay-choreo-1',
      orderId,
      status: 'CAPTURED',
      amount: { amount: 1400, currency: 'USD' },
      captured: { amount: 1400, currency: 'USD' },
      refunded: { amount: 0, currency: 'USD' },
    },
  });
  // The capture heard before the commit (they come on two topics): the order waits for the commit.
  assert.equal(await react(captured, deps(p.fake, false)), 'recorded');
  assert.equal((await row(orderId)).order?.status, 'PENDING');
  assert.equal(await react(stockEvent(StockCommittedV1, orderId), deps(p.fake)), 'confirmed');
  r = await row(orderId);
  assert.equal(r.order?.status, 'CONFIRMED');
  assert.deepEqual(
    r.events.map((e) => e.event_type),
    ['shop.order.created.v1', 'shop.order.confirmed.v1'],
  );
  assert.deepEqual(r.steps, [
    'shop.catalog.stock_reserved.v1:RECEIVED',
    'choreography:authorize_payment:SUCCEEDED',
    'choreography:capture_heard:RECEIVED',
    'shop.catalog.stock_committed.v1:RECEIVED',
    'choreography:confirm:SUCCEEDED',
  ]);
  // Ended: a late event changes nothing.
  assert.equal(await react(stockEvent(StockReleasedV1, orderId), deps(p.fake)), 'recorded');
  assert.equal((await row(orderId)).order?.status, 'CONFIRMED');
});

test('a declined card waits for the release, which cancels the order as payment_declined', async () => {
  const orderId = await placeOrder('choreographed');
  const p = payments(() => new ShopError('SHOP_PAYMENT_DECLINED', 'declined'));
  assert.equal(await react(stockEvent(StockReservedV1, orderId), deps(p.fake)), 'refused');
  let r = await row(orderId);
  assert.equal(r.order?.status, 'PENDING', 'payment.declined → catalog releases → then the order ends');
  assert.equal(r.cards, 0);
  assert.equal(await react(stockEvent(StockReleasedV1, orderId), deps(p.fake)), 'cancelled');
  r = await row(orderId);
  assert.equal(r.order?.status, 'CANCELLED');
  assert.equal(r.order?.cancel_reason, 'payment_declined');
  assert.equal(r.events.at(-1)?.event_type, 'shop.order.cancelled.v1');
});

test('a refused reservation cancels with its reason; payment down is retried (the handler throws)', async () => {
  const refusedId = await placeOrder('choreographed');
  const refused = createContractEvent(StockRefusedV1, {
    service: 'catalog',
    subject: refusedId,
    data: { reservationId: refusedId, lines, reason: 'out_of_stock' },
  });
  assert.equal(await react(refused, deps(payments(() => ({ id: 'x' })).fake)), 'cancelled');
  assert.equal((await row(refusedId)).order?.cancel_reason, 'out_of_stock');

  const downId = await placeOrder('choreographed');
  const down = payments(() => new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'payment is down'));
  await assert.rejects(react(stockEvent(StockReservedV1, downId), deps(down.fake)));
  const r = await row(downId);
  assert.equal(r.cards, 1, 'the card is kept for the next attempt');
  assert.deepEqual(r.steps, [], 'the failed attempt wrote nothing');
});

test('an orchestrated order’s events move nothing', async () => {
  const orderId = await placeOrder('orchestrated');
  const p = payments(() => ({ id: 'never' }));
  assert.equal(await react(stockEvent(StockReservedV1, orderId), deps(p.fake)), 'ignored');
  assert.equal(p.calls.length, 0);
});
