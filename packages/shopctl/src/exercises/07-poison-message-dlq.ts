// Exercise 7: the cart cannot handle order events (a fault in its consumer). Each event is
// retried, then parked in the dead-letter topic, and the consumer moves on: the next order is
// handled as soon as the fault is gone. After the fix, `shopctl dlq redrive` puts the parked
// events back and the cart catches up. A message that is not a CloudEvent at all goes to the
// DLQ at once, without retries, and a redrive passes over it (docs/exercises/07-poison-message-dlq.md).

import type { Service } from '@shoplab/audit';
import type { FaultRuleInput } from '../api';
import { type DlqMessage, listDlq, redriveDlq, sendRaw } from '../dlq';
import {
  auditNow,
  clearances,
  counter,
  invariant,
  ORDER_EVENT_GROUPS,
  requireQuietMessaging,
  waitCleared,
  waitFor,
} from './messaging-support';
import { registerExercise } from './registry';
import { checkoutAll, productInStock, shoppersWithCart, waitAllEnded } from './support';
import { check, type ExerciseContext } from './types';

const TOPIC = 'order.events';
const DLQ_COUNTER = 'shop_consumer_dlq_total';
const DUPLICATES = 'shop_consumer_duplicates_total';
/** The cart's order-events handler fails every time (the chassis applies consumer faults per topic). */
export const CART_CONSUMER_FAULT: FaultRuleInput = {
  kind: 'consumer',
  target: TOPIC,
  fault: { type: 'fail' },
  durationSeconds: 120,
};

function dlqCount(ctx: ExerciseContext, service: Service, group: string, reason: string) {
  return counter(ctx, service, DLQ_COUNTER, { group, reason });
}

/** Waits until the counter has grown from `start` by `by`; resolves how much it grew (maybe less, after the deadline). */
async function waitGrowth(
  ctx: ExerciseContext,
  what: string,
  read: () => Promise<number>,
  start: number,
  by: number,
  timeoutMs: number,
) {
  const grown = async () => (await read()) - start;
  await waitFor(ctx, what, async () => ((await grown()) >= by ? true : undefined), timeoutMs).catch(() => undefined);
  return grown();
}

function describeParked(m: DlqMessage): string {
  return `${m.partition}:${m.offset} ${m.type ?? '(not a CloudEvent)'} key ${m.key} — group ${m.consumerGroup}, ${m.attempts} attempt(s), reason: ${(m.reason ?? '').slice(0, 90)}`;
}

export const exercise07 = registerExercise({
  number: 7,
  slug: 'poison-message-dlq',
  title: 'The cart cannot handle an event: retries, the dead-letter topic, redrive',
  pattern: 'dead-letter queue',
  doc: 'docs/exercises/07-poison-message-dlq.md',
  checkout: { modes: 'both' },
  async run(ctx) {
    const product = await productInStock(ctx, 2);
    await requireQuietMessaging(ctx);
    const [start] = await listDlq({ env: ctx.env, topic: TOPIC });
    ctx.log(`${TOPIC}.dlq: ${start?.count ?? 0} message(s), ${start?.pending ?? 0} not yet redriven`);
    const [first, second] = await shoppersWithCart(ctx, 2, product.id);
    if (!first || !second) throw new Error('two shoppers were not created');

    ctx.step(`a fault in the cart's consumer: every ${TOPIC} event fails there`);
    ctx.defer("clear the cart's consumer fault", () => ctx.admin.chaosClear('cart'));
    const rule = await ctx.admin.chaosSet('cart', CART_CONSUMER_FAULT);
    ctx.log(`shopctl chaos set cart consumer ${TOPIC} fail → rule ${rule.id}`);
    const cartFailed = () => dlqCount(ctx, 'cart', 'cart-order-events', 'failed');
    const failedBefore = await cartFailed();
    const [a] = await waitAllEnded(ctx, await checkoutAll(ctx, [first]), 60_000);
    if (!a) throw new Error('the first order was not placed');
    ctx.log(`order A ${a.orderId}: ${a.order.status}`);
    // A's two events (created, then confirmed) each fail every attempt, then go to the DLQ.
    const parkedCount = await waitGrowth(
      ctx,
      "the cart dead-lettering A's events",
      cartFailed,
      failedBefore,
      2,
      60_000,
    );
    const [afterFault] = await listDlq({ env: ctx.env, topic: TOPIC });
    const parked = (afterFault?.messages ?? []).filter((m) => m.key === a.orderId && !m.redriven);
    for (const m of parked) ctx.log(`parked: ${describeParked(m)}`);
    const parkedConfirmation = parked.find((m) => m.type === 'shop.order.confirmed.v1');
    const aItemsWhileParked = (await first.getCart()).itemCount;
    await ctx.admin.chaosClear('cart', rule.id);
    ctx.log('fault cleared');

    ctx.step('the consumer moved on: the next order is handled while A waits in the DLQ');
    const [b] = await waitAllEnded(ctx, await checkoutAll(ctx, [second]), 60_000);
    if (!b) throw new Error('the second order was not placed');
    const bCleared = await waitCleared(ctx, [b.orderId], 30_000);
    const aClearedEarly = (await clearances(ctx)).has(a.orderId);
    ctx.log(
      `order B ${b.orderId}: ${b.order.status}, cart cleared ${bCleared === null ? 'never' : `${bCleared.toFixed(1)} s after`}; A cleared: ${aClearedEarly}`,
    );
    const report = await auditNow(ctx);
    const messaging = invariant(report, 6);
    ctx.log(`audit invariant 6 now: ${messaging?.verdict} notReachedCart=${messaging?.counts.notReachedCart}`);

    ctx.step(`shopctl dlq redrive ${TOPIC}: the parked events go back to their topic`);
    const duplicatesBefore = await Promise.all(
      ORDER_EVENT_GROUPS.filter((g) => g.service !== 'cart').map((g) =>
        counter(ctx, g.service, DUPLICATES, { group: g.group }),
      ),
    );
    const redrive = await redriveDlq({ env: ctx.env, topic: TOPIC });
    const aIds = new Set(parked.map((m) => m.eventId));
    ctx.log(
      `redriven ${redrive.redriven.length} message(s), A's: ${
        redrive.redriven
          .filter((r) => aIds.has(r.eventId))
          .map((r) => r.eventId)
          .join(', ') || 'none'
      }; passed over ${redrive.skipped.poison} poison message(s) and ${redrive.skipped.copies} further copy(ies)`,
    );
    const aCleared = await waitCleared(ctx, [a.orderId], 30_000);
    const aItemsAfter = (await first.getCart()).itemCount;
    const duplicatesAfter = await Promise.all(
      ORDER_EVENT_GROUPS.filter((g) => g.service !== 'cart').map((g) =>
        counter(ctx, g.service, DUPLICATES, { group: g.group }),
      ),
    );
    ctx.log(`A's cart: ${aItemsWhileParked} item(s) while parked → ${aItemsAfter} after the redrive`);

    ctx.step('a message that is not a CloudEvent goes to the DLQ at once');
    const poisonKey = `${ctx.runId}-poison`;
    await sendRaw({ env: ctx.env, topic: TOPIC, messages: [{ key: poisonKey, value: 'this is not a CloudEvent' }] });
    ctx.log(`sent key ${poisonKey}, value "this is not a CloudEvent", no ce_* headers`);
    const parkedPoison = async () =>
      ((await listDlq({ env: ctx.env, topic: TOPIC }))[0]?.messages ?? []).filter((m) => m.key === poisonKey);
    let poison: DlqMessage[] = [];
    await waitFor(
      ctx,
      'every order-events consumer dead-lettering the malformed message',
      async () => {
        poison = await parkedPoison();
        return ORDER_EVENT_GROUPS.every(({ group }) => poison.some((m) => m.consumerGroup === group))
          ? true
          : undefined;
      },
      30_000,
    ).catch(() => undefined);
    for (const m of poison) ctx.log(`parked: ${describeParked(m)}`);
    const again = await redriveDlq({ env: ctx.env, topic: TOPIC });
    const poisonCopied = again.redriven.filter((r) =>
      poison.some((m) => m.partition === r.partition && m.offset === r.offset),
    );
    ctx.log(
      `shopctl dlq redrive ${TOPIC} again: ${again.redriven.length} copied, passed over ${again.skipped.poison} poison message(s)`,
    );

    const aEvents = parked.map((m) => m.eventId);
    return [
      check(
        'the failing event is retried, then parked in the dead-letter topic; the cart stays full',
        parkedCount >= 2 &&
          parkedConfirmation !== undefined &&
          (parkedConfirmation.attempts ?? 0) > 1 &&
          aItemsWhileParked > 0,
        `cart dead-lettered ${parkedCount} of A's events (${DLQ_COUNTER}{reason="failed"})`,
        parkedConfirmation
          ? `A's confirmation: ${describeParked(parkedConfirmation)}`
          : `A's confirmation is not in ${TOPIC}.dlq`,
        `A's cart while its confirmation is parked: ${aItemsWhileParked} item(s)`,
      ),
      check(
        'the consumer is not stuck: the next order is handled while the failed one waits in the DLQ',
        bCleared !== null && !aClearedEarly && messaging?.verdict === 'FAIL',
        `B's cart cleared ${bCleared === null ? 'never' : `${bCleared.toFixed(1)} s after it confirmed`}; A still not cleared: ${!aClearedEarly}`,
        `audit invariant 6 meanwhile: ${messaging?.verdict} (${messaging?.details[0] ?? ''})`,
      ),
      check(
        'after the fix, the redrive delivers the parked events: A is cleared; the other consumers skip them as duplicates',
        aEvents.every((id) => redrive.redriven.some((r) => r.eventId === id)) &&
          aCleared !== null &&
          aItemsAfter === 0 &&
          duplicatesAfter.every((n, i) => n - (duplicatesBefore[i] ?? 0) >= parked.length),
        `redriven: ${redrive.redriven.length} message(s), including A's ${parked.length}; ${redrive.remaining} left`,
        `A's cart cleared ${aCleared === null ? 'never' : `${aCleared.toFixed(1)} s after the redrive`} (${aItemsAfter} item(s) left)`,
        `catalog and user had applied A's events already: ${duplicatesAfter.map((n, i) => n - (duplicatesBefore[i] ?? 0)).join(' and ')} duplicates skipped`,
      ),
      check(
        'a message that is not a CloudEvent goes to the DLQ at once, from every consumer group, without retries; a redrive passes over it',
        ORDER_EVENT_GROUPS.every(({ group }) =>
          poison.some((m) => m.consumerGroup === group && m.attempts === 0 && m.poison),
        ) &&
          poisonCopied.length === 0 &&
          again.skipped.poison >= ORDER_EVENT_GROUPS.length,
        ...(poison.length > 0 ? poison.map(describeParked) : [`no message with key ${poisonKey} in ${TOPIC}.dlq`]),
        `the next redrive: ${poisonCopied.length} of its parked copies sent back, ${again.skipped.poison} poison message(s) passed over`,
      ),
    ];
  },
});
