// A shopper's path through the storefront in a real browser (Chromium), against the running
// shop: sign up, find two products (made by this test), add them, check out with the test
// card that pays and watch the saga reach CONFIRMED on the live timeline; and, on a
// phone-sized screen, a declined card: CANCELLED, with the compensation that gave the stock back;
// and the orders page, read from the history (CQRS), saying so while the history is held back.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { adminBaseUrl } from '@shoplab/shopctl';
import {
  ADMIN_TOKEN,
  availableOf,
  type Browser,
  createProduct,
  GATEWAY_URL,
  openBrowser,
  registerShopper,
  send,
  usd,
  WEB_URL,
} from './support';

const SETTLE_MS = 120_000;

let browser: Browser | undefined;
before(async () => {
  // The web service and, behind it, the gateway answer.
  await send(`${WEB_URL}/readyz`);
});
after(async () => {
  await browser?.close();
});

test('a shopper signs up, adds two products, checks out and watches the order reach CONFIRMED', async (t) => {
  const a = await createProduct(5, 1250);
  const b = await createProduct(5, 799);
  browser = await openBrowser();
  const { page } = browser;
  const failures: string[] = [];
  page.on('pageerror', (err) => failures.push(String(err)));

  await t.test('sign up', async () => {
    await page.goto(`${WEB_URL}/`);
    await page.getByRole('link', { name: 'Create account' }).click();
    await page.getByLabel('Name').fill('Web Shopper');
    await page.getByLabel('Email').fill(`web-${randomUUID()}@example.com`);
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByRole('button', { name: /Sign out Web Shopper/ }).waitFor();
  });

  await t.test('the first product through search, the second on its page (two of it)', async () => {
    await page.getByLabel('Search products').fill(a.name);
    await page.getByRole('button', { name: 'Search' }).click();
    const card = page.locator(`[data-product-id="${a.id}"]`);
    await card.getByText('5 in stock').waitFor();
    await card.getByText(usd(1250)).waitFor();
    await card.getByRole('button', { name: `Add ${a.name} to cart` }).click();
    await card.getByText('Added to your cart').waitFor();

    await page.goto(`${WEB_URL}/products/${encodeURIComponent(b.id)}`);
    await page.getByRole('heading', { name: b.name }).waitFor();
    await page.getByLabel('Quantity').fill('2');
    await page.getByRole('button', { name: `Add ${b.name} to cart` }).click();
    await page.getByText('Added to your cart').waitFor();
    await page.getByTestId('cart-count').getByText('3').waitFor();
  });

  await t.test('the cart has both lines and their total', async () => {
    await page.getByRole('link', { name: /^Cart/ }).click();
    await page.locator(`tr[data-product-id="${a.id}"]`).waitFor();
    await page.locator(`tr[data-product-id="${b.id}"]`).waitFor();
    assert.equal(await page.getByTestId('cart-total').textContent(), usd(1250 + 2 * 799));
  });

  let orderId = '';
  await t.test('check out with the test card that pays', async () => {
    await page.getByRole('link', { name: 'Check out' }).click();
    await page.getByRole('button', { name: 'the test card that pays' }).click();
    assert.equal(await page.getByLabel('Card number').inputValue(), '4242 4242 4242 4242');
    await page.getByLabel('CVC').fill('123');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[^/]+$/);
    orderId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    assert.ok(orderId);
  });

  await t.test('the timeline follows the saga live until CONFIRMED', async () => {
    await page.getByTestId('order-status').getByText('CONFIRMED').waitFor({ timeout: SETTLE_MS });
    // Only the event stream says so: it ended after the order's final status event.
    await page.getByTestId('live-state').getByText('The saga has finished.').waitFor();
    const timeline = page.getByRole('list', { name: 'Saga timeline' });
    for (const step of ['reserve_stock', 'authorize_payment', 'capture_payment']) {
      await timeline.locator(`li[data-step="${step}"][data-outcome="SUCCEEDED"]`).first().waitFor();
    }
    assert.equal(await timeline.locator('li.compensation').count(), 0, 'a confirmed order compensated nothing');
    await page
      .getByTestId('payment')
      .getByText(/CAPTURED/)
      .waitFor();
  });

  await t.test('the order is in the history (the read side), and the stock was taken', async () => {
    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    // The history follows the events: the page says when it is behind and reads again by itself.
    const row = page.locator(`li[data-order-id="${orderId}"]`);
    await row.getByText('CONFIRMED').waitFor({ timeout: SETTLE_MS });
    await row.getByText(usd(1250 + 2 * 799)).waitFor();
    await row.getByText(`2 × ${b.name}`).waitFor();
    assert.equal(await page.getByTestId('history-freshness').count(), 0, 'caught up: no "being updated" notice');
    assert.equal(await availableOf(a.id), 4);
    assert.equal(await availableOf(b.id), 3);
  });

  await t.test('the history searches by product words and by status', async () => {
    await page.getByLabel('Search your orders').fill(b.name);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator(`li[data-order-id="${orderId}"]`).waitFor();
    await page.getByLabel('Search your orders').fill('');
    await page.getByLabel('Status').selectOption('CANCELLED');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No order matches.').waitFor();
    assert.equal(await page.locator(`li[data-order-id="${orderId}"]`).count(), 0);
  });

  assert.deepEqual(failures, [], 'no error in the page');
  await browser.close();
  browser = undefined;
});

test('on a phone-sized screen, a declined card ends CANCELLED with its compensations', async (t) => {
  const product = await createProduct(3, 4200);
  const shopper = await registerShopper('web-declined');
  browser = await openBrowser({ width: 390, height: 844 });
  const { page } = browser;

  await t.test('sign in, and the product goes into the cart', async () => {
    await page.goto(`${WEB_URL}/products/${encodeURIComponent(product.id)}`);
    await page.getByRole('button', { name: `Add ${product.name} to cart` }).click();
    // Not signed in yet: sent to sign in, and back to the product afterwards.
    await page.waitForURL(/\/signin\?next=/);
    await page.getByLabel('Email').fill(shopper.email);
    await page.getByLabel('Password').fill(shopper.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: product.name }).waitFor();
    await page.getByRole('button', { name: `Add ${product.name} to cart` }).click();
    await page.getByText('Added to your cart').waitFor();
    // The page fits the phone's width: nothing to scroll sideways.
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  });

  await t.test('the declined card cancels the order and the stock is released', async () => {
    await page.goto(`${WEB_URL}/checkout`);
    await page.getByRole('button', { name: 'the test card that is declined' }).click();
    await page.getByLabel('CVC').fill('123');
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[^/]+$/);
    await page.getByTestId('order-status').getByText('CANCELLED').waitFor({ timeout: SETTLE_MS });
    await page.getByTestId('live-state').getByText('The saga has finished.').waitFor();
    const timeline = page.getByRole('list', { name: 'Saga timeline' });
    await timeline.locator('li[data-step="authorize_payment"][data-outcome="REFUSED"]').first().waitFor();
    const compensation = timeline.locator('li.compensation[data-step="compensate:release_stock"]');
    await compensation.filter({ hasText: 'SUCCEEDED' }).first().waitFor();
    assert.equal(await availableOf(product.id), 3, 'the reserved unit is back');
  });
  await browser.close();
  browser = undefined;
});

test('while the history is held back, the orders page says the newest order is being updated, then shows it', async (t) => {
  // The history's admin listener (its /admin/chaos; 404 on its HTTP port).
  const historyUrl = process.env.HISTORY_ADMIN_URL ?? adminBaseUrl('history');
  const product = await createProduct(2, 1999);
  const shopper = await registerShopper('web-history');
  const { token } = await send(`${GATEWAY_URL}/api/v1/auth/login`, 'POST', {
    email: shopper.email,
    password: shopper.password,
  });
  // The history's order.events consumer waits until the rule is cleared (or expires).
  const rule = await send(
    `${historyUrl}/admin/chaos`,
    'PUT',
    { kind: 'consumer', target: 'order.events', fault: { type: 'hang' }, durationSeconds: 120 },
    ADMIN_TOKEN,
  );
  const release = () =>
    send(`${historyUrl}/admin/chaos/${encodeURIComponent(rule.id)}`, 'DELETE', undefined, ADMIN_TOKEN);
  t.after(() => release().catch(() => undefined));
  await send(`${GATEWAY_URL}/api/v1/cart/items`, 'POST', { productId: product.id, quantity: 1 }, token);
  const accepted = await fetch(`${GATEWAY_URL}/api/v1/checkout`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': `web-history-${randomUUID()}`,
    },
    body: JSON.stringify({ card: { number: '4242 4242 4242 4242', expMonth: 12, expYear: 2035, cvc: '123' } }),
  });
  assert.equal(accepted.status, 202);
  const { orderId } = (await accepted.json()) as { orderId: string };

  // A browser of this test's own, closed whatever happens (a browser left open keeps the run alive).
  const own = await openBrowser();
  t.after(() => own.close());
  const { page } = own;
  await page.goto(`${WEB_URL}/signin?next=${encodeURIComponent('/orders')}`);
  await page.getByLabel('Email').fill(shopper.email);
  await page.getByLabel('Password').fill(shopper.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const notice = page.getByTestId('history-freshness');
  await notice.getByText('Being updated.').waitFor();
  await notice.getByText(orderId.slice(0, 8)).waitFor();
  assert.equal(await page.locator(`li[data-order-id="${orderId}"]`).count(), 0, 'not in the history yet');

  await release();
  // The page reads again by itself: the order arrives and the notice goes.
  await page.locator(`li[data-order-id="${orderId}"]`).waitFor({ timeout: SETTLE_MS });
  await notice.waitFor({ state: 'detached', timeout: SETTLE_MS });
});
