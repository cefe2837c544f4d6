// The control room in a real browser: the admin token typed in, the service map, a fault set
// through its own chaos form (payment's GetPayment slowed past the gateway's deadline), the
// gateway's breaker towards payment seen opening, the fault cleared through the form and the
// breaker seen closing again; the live charts from Prometheus showing the test's checkout; the
// order's trace drawn from Jaeger with every service in it;
// then the audit, run from the page. The shopper's order page
// meanwhile shows its answer as degraded (the payment is missing), never an error.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import {
  ADMIN_TOKEN,
  type Browser,
  createProduct,
  GATEWAY_ADMIN_URL,
  GATEWAY_URL,
  openBrowser,
  registerShopper,
  send,
  WEB_URL,
} from './support';

const GET_PAYMENT = 'payment.v1.PaymentService/GetPayment';

let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  // Whatever happened above, payment is left without faults.
  await send(`${GATEWAY_ADMIN_URL}/api/v1/admin/chaos/payment`, 'DELETE', undefined, ADMIN_TOKEN).catch(() => {});
});

/** A CONFIRMED order of a new shopper, made through the public API. */
async function confirmedOrder(): Promise<{ email: string; password: string; token: string; orderId: string }> {
  const product = await createProduct(2, 300);
  const { email, password } = await registerShopper('web-control');
  const { token } = await send(`${GATEWAY_URL}/api/v1/auth/login`, 'POST', { email, password });
  await send(`${GATEWAY_URL}/api/v1/cart/items`, 'POST', { productId: product.id, quantity: 1 }, token);
  // As a client should: 429, 503 and 504 are sent again with the same Idempotency-Key.
  const key = randomUUID();
  let orderId = '';
  for (let attempt = 1; !orderId; attempt++) {
    const res = await fetch(`${GATEWAY_URL}/api/v1/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': key },
      body: JSON.stringify({ card: { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2035, cvc: '123' } }),
    });
    const text = await res.text();
    if ([429, 503, 504].includes(res.status) && attempt < 120) {
      await new Promise((r) => setTimeout(r, 1_000));
      continue;
    }
    assert.equal(res.status, 202, text);
    orderId = (JSON.parse(text) as { orderId: string }).orderId;
  }
  await eventually(
    `order ${orderId} to be CONFIRMED`,
    async () => {
      const order = await send(`${GATEWAY_URL}/api/v1/orders/${orderId}`, 'GET', undefined, token);
      assert.notEqual(order.status, 'CANCELLED', JSON.stringify(order));
      return order.status === 'CONFIRMED' ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500, onError: 'fail' },
  );
  return { email, password, token, orderId };
}

/** `count` reads of the order through the web service at once; each answer's `degraded`. */
async function readOrder(token: string, orderId: string, count: number): Promise<unknown[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const order = await send(`${WEB_URL}/api/v1/orders/${orderId}`, 'GET', undefined, token);
      return order.degraded ?? [];
    }),
  );
}

test('the control room: a slow payment set through the chaos form opens the gateway’s breaker', async (t) => {
  const { email, password, token, orderId } = await confirmedOrder();
  browser = await openBrowser();
  const { page } = browser;
  const paymentBreaker = page.locator('[data-service="payment"] [data-breaker="payment"]');

  await t.test('the admin token is typed in; the service map shows every service ready', async () => {
    await page.goto(`${WEB_URL}/control`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Open the control room' }).click();
    for (const service of ['user', 'catalog', 'cart', 'payment', 'order']) {
      await page.getByTestId(`health-${service}`).getByText('ready', { exact: true }).waitFor();
    }
    await paymentBreaker.and(page.locator('[data-state="closed"]')).waitFor();
  });

  await t.test('the live charts show this test’s confirmed checkout and every service’s latency', async () => {
    // The order confirmed moments ago: the checkouts chart's "confirmed" line is above zero
    // once Prometheus has scraped order after it (the rate over the last minute).
    const confirmed = page.locator('[data-chart="saga-outcomes"] [data-series="confirmed"] strong');
    await eventually(
      'the confirmed checkout on the live chart',
      async () => {
        const text = (await confirmed.count()) ? ((await confirmed.textContent()) ?? '') : '';
        return Number.parseFloat(text) > 0 ? text : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2_000 },
    );
    const latency = page.locator('[data-chart="http-p99"]');
    await latency.locator('[data-series="gateway"]').waitFor();
    assert.ok((await latency.locator('svg polyline').count()) > 0, 'the latency chart draws lines');
  });

  await t.test('payment’s GetPayment slowed through the form: the breaker opens', async () => {
    await page.getByLabel('Service', { exact: true }).selectOption('payment');
    await page.getByLabel('Where', { exact: true }).selectOption('grpc');
    await page.getByLabel(/^Target/).fill(GET_PAYMENT);
    await page.getByLabel('Fault', { exact: true }).selectOption('latency');
    await page.getByLabel('Delay (ms)').fill('3000');
    await page.getByLabel('Expires after (seconds)').fill('120');
    await page.getByRole('button', { name: 'Set the fault' }).click();
    await page.getByText('Fault set on payment').waitFor();

    // The order still answers, without its payment, while the gateway's calls time out.
    const degraded = await readOrder(token, orderId, 20);
    assert.ok(
      degraded.every((d) => JSON.stringify(d) === '["payment"]'),
      `every read is degraded: ${JSON.stringify(degraded)}`,
    );
    await paymentBreaker.and(page.locator('[data-state="open"]')).waitFor();
  });

  await t.test('meanwhile the shopper’s order page says its payment is missing', async () => {
    const shopper = await browser!.context.newPage();
    await shopper.goto(`${WEB_URL}/signin?next=${encodeURIComponent(`/orders/${orderId}`)}`);
    await shopper.getByLabel('Email').fill(email);
    await shopper.getByLabel('Password').fill(password);
    await shopper.getByRole('button', { name: 'Sign in' }).click();
    await shopper.getByTestId('order-status').getByText('CONFIRMED').waitFor();
    await shopper.getByTestId('degraded').getByText('the payment').waitFor();
    assert.equal(await shopper.getByTestId('payment').count(), 0, 'no payment shown while it is missing');
    await shopper.close();
  });

  await t.test('the fault cleared through the form: the breaker closes after its trial call', async () => {
    await page.getByRole('button', { name: 'Clear payment’s faults' }).click();
    await page.getByText('Every fault of payment cleared').waitFor();
    const closed = paymentBreaker.and(page.locator('[data-state="closed"]'));
    // The breaker lets a trial call through after its reset timeout; reads until one closes it.
    for (let i = 0; i < 60 && !(await closed.isVisible()); i++) {
      await readOrder(token, orderId, 1);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await closed.waitFor({ timeout: 5_000 });
  });

  await t.test('the order’s trace waterfall, drawn from Jaeger, has every service', async () => {
    const expected = ['cart', 'catalog', 'gateway', 'order', 'payment', 'user'];
    await page.getByLabel('Order id').fill(orderId);
    const services = page.getByTestId('trace-services');
    // Spans reach Jaeger in batches, the consumers' a little later than the rest: ask again until all are there.
    let seen = '';
    for (let i = 0; i < 30; i++) {
      await page.getByRole('button', { name: 'Show the trace' }).click();
      await page.getByRole('button', { name: 'Show the trace' }).and(page.locator(':enabled')).waitFor();
      seen = (await services.count()) ? ((await services.textContent()) ?? '') : '';
      if (expected.every((s) => seen.split(', ').includes(s))) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    assert.deepEqual(
      expected.filter((s) => !seen.split(', ').includes(s)),
      [],
      `services in the trace: ${seen}`,
    );
    const waterfall = page.getByRole('list', { name: 'Trace waterfall' });
    for (const s of expected) assert.ok((await waterfall.locator(`li[data-service="${s}"]`).count()) > 0, s);
    const link = page.getByRole('link', { name: 'Open it in Jaeger' });
    assert.match((await link.getAttribute('href')) ?? '', /:16686\/trace\/[0-9a-f]+$/);
  });

  await t.test('the audit runs from the page and every invariant holds', async () => {
    const results = page.getByRole('table', { name: 'Audit results' });
    const run = page.getByRole('button', { name: 'Run the audit' });
    // Sagas still running elsewhere in the shop may be PENDING a little longer: a few runs.
    for (let i = 1; ; i++) {
      await run.click();
      await run.and(page.locator(':enabled')).waitFor({ timeout: 120_000 });
      await results.waitFor();
      assert.ok((await results.locator('tbody tr').count()) > 0);
      const failed = await results.locator('tr[data-verdict="FAIL"]').count();
      if (failed === 0) break;
      assert.ok(i < 6, `the audit still fails: ${(await results.textContent()) ?? ''}`);
      await new Promise((r) => setTimeout(r, 10_000));
    }
  });
});
