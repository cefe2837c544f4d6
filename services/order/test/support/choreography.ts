// What the order service's choreography tests share (test/integration/choreography*.test.ts): an
// order placed in a given checkout mode through the REST API of the harness, and what the
// database holds about it.
import assert from 'node:assert/strict';
import { pgPoolOf } from '@shoplab/chassis';
import { ADMIN_TOKEN, type Harness, newUserId, VISA } from './harness';

async function setMode(h: Harness, mode: string): Promise<void> {
  const res = await h.app.http.inject({
    method: 'PUT',
    url: '/v1/admin/checkout-mode',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { mode },
  });
  assert.equal(res.statusCode, 200, res.body);
}

/** Places an order of `lines` in `mode` (the switch put back to `orchestrated` after); its id. */
export async function placeOrder(
  h: Harness,
  mode: string,
  lines: { productId: string; quantity: number }[],
): Promise<string> {
  await setMode(h, mode);
  const userId = newUserId();
  h.cart.set(userId, lines);
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `choreo-${userId}` },
    payload: { card: VISA },
  });
  assert.equal(res.statusCode, 202, res.body);
  await setMode(h, 'orchestrated');
  return res.json().orderId;
}

/** The order's row, its sealed card and saga rows (counts), its timeline (`step:outcome`) and its outbox events. */
export async function orderRow(h: Harness, orderId: string) {
  const pool = pgPoolOf(h.prisma);
  const order = (
    await pool.query<{
      status: string;
      cancel_reason: string | null;
      payment_id: string | null;
      checkout_mode: string;
    }>('SELECT status::text, cancel_reason, payment_id, checkout_mode FROM orders WHERE id = $1', [orderId])
  ).rows[0];
  const cards = (await pool.query('SELECT 1 FROM saga_payment_instructions WHERE order_id = $1', [orderId])).rowCount;
  const sagas = (await pool.query('SELECT 1 FROM saga_instances WHERE order_id = $1', [orderId])).rowCount;
  const steps = (
    await pool.query<{ step: string; outcome: string }>(
      'SELECT step, outcome FROM saga_steps WHERE order_id = $1 ORDER BY id',
      [orderId],
    )
  ).rows.map((s) => `${s.step}:${s.outcome}`);
  const events = (
    await pool.query<{ event_type: string; payload: unknown }>(
      'SELECT event_type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id',
      [orderId],
    )
  ).rows;
  return { order, cards, sagas, steps, events };
}
