// `make screenshots`: pictures of the storefront, an order's timeline (confirmed and
// cancelled), the control room (and an exercise run from it) and the phone layout, taken in headless Chromium from the
// running shop (make up) into docs/web/. The products and shoppers are made for the occasion.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { ADMIN_TOKEN, createProduct, openBrowser, registerShopper, WEB_URL } from './support';

// This file runs from services/web/dist/test/browser.
const OUT = process.env.SCREENSHOTS_DIR ?? resolve(__dirname, '../../../../../docs/web');
const SETTLE_MS = 120_000;

async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => {});
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path, fullPage, animations: 'disabled' });
  console.log(`screenshots: ${path}`);
}

async function checkout(page: Page, card: 'pays' | 'is declined', status: 'CONFIRMED' | 'CANCELLED') {
  await page.goto(`${WEB_URL}/checkout`);
  await page.getByRole('button', { name: `the test card that ${card}` }).click();
  await page.getByLabel('CVC').fill('123');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/orders\/[^/]+$/);
  await page.getByTestId('order-status').getByText(status).waitFor({ timeout: SETTLE_MS });
  await page.getByTestId('live-state').getByText('The saga has finished.').waitFor();
}

async function addToCart(page: Page, product: { id: string; name: string }, quantity = 1) {
  await page.goto(`${WEB_URL}/products/${encodeURIComponent(product.id)}`);
  await page.getByLabel('Quantity').fill(String(quantity));
  await page.getByRole('button', { name: `Add ${product.name} to cart` }).click();
  await page.getByText('Added to your cart').waitFor();
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const mug = await createProduct(25, 1450, 'ShopLab mug (screenshot)', 'kitchen');
  const shirt = await createProduct(10, 2400, 'Saga T-shirt (screenshot)', 'clothing');
  const shopper = await registerShopper('screenshots');

  const desktop = await openBrowser({ width: 1280, height: 860 });
  try {
    const page = desktop.page;
    await page.goto(`${WEB_URL}/`);
    await page.locator('[data-product-id]').first().waitFor();
    await shot(page, 'storefront');

    await page.goto(`${WEB_URL}/signin`);
    await page.getByLabel('Email').fill(shopper.email);
    await page.getByLabel('Password').fill(shopper.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: /Sign out/ }).waitFor();

    await addToCart(page, mug, 2);
    await addToCart(page, shirt);
    await page.goto(`${WEB_URL}/cart`);
    await page.getByTestId('cart-total').waitFor();
    await shot(page, 'cart');

    await checkout(page, 'pays', 'CONFIRMED');
    const orderId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    await shot(page, 'order-timeline', true);

    await addToCart(page, shirt);
    await checkout(page, 'is declined', 'CANCELLED');
    await shot(page, 'order-cancelled', true);

    await page.goto(`${WEB_URL}/control`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Open the control room' }).click();
    await page.getByTestId('health-payment').waitFor();
    await page.locator('[data-breaker]').first().waitFor();
    await page.locator('[data-switch]').first().waitFor();
    await shot(page, 'control-room');

    // An exercise run from the page (6: harmless), pictured once its checks have arrived; then
    // interrupted, as the audit over the whole shop is all that remains.
    await page.getByLabel('Exercise', { exact: true }).selectOption('6');
    await page.getByRole('button', { name: 'Run the exercise' }).click();
    await page.getByRole('list', { name: 'Checks' }).locator('li').first().waitFor({ timeout: SETTLE_MS });
    const exercises = page.locator('section[aria-labelledby="exercises-title"]');
    await exercises.scrollIntoViewIfNeeded();
    await exercises.screenshot({ path: join(OUT, 'control-exercise.png'), animations: 'disabled' });
    console.log(`screenshots: ${join(OUT, 'control-exercise.png')}`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Interrupt it' }).click();
    await page.getByTestId('exercise-verdict').waitFor({ timeout: SETTLE_MS });

    // The confirmed order's trace, once its spans (the consumers' last) have reached Jaeger.
    await page.getByLabel('Order id').fill(orderId);
    for (let i = 0; i < 30; i++) {
      await page.getByRole('button', { name: 'Show the trace' }).click();
      await page.getByRole('button', { name: 'Show the trace' }).and(page.locator(':enabled')).waitFor();
      const seen = (await page.getByTestId('trace-services').count())
        ? ((await page.getByTestId('trace-services').textContent()) ?? '')
        : '';
      if (['cart', 'catalog', 'gateway', 'order', 'payment', 'user', 'web'].every((s) => seen.includes(s))) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    await page.getByRole('heading', { name: 'Trace of an order' }).scrollIntoViewIfNeeded();
    await page.getByRole('list', { name: 'Trace waterfall' }).screenshot({ path: join(OUT, 'trace-waterfall.png') });
    console.log(`screenshots: ${join(OUT, 'trace-waterfall.png')}`);
  } finally {
    await desktop.close();
  }

  const phone = await openBrowser({ width: 390, height: 844 });
  try {
    await phone.page.goto(`${WEB_URL}/?q=${encodeURIComponent('(screenshot)')}`);
    await phone.page.locator('[data-product-id]').first().waitFor();
    await shot(phone.page, 'phone');
  } finally {
    await phone.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
