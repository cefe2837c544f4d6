// What the browser tests share: the running shop's addresses, the admin token (as the e2e
// tests find it), products each test makes for itself (docs/adr/0015-tests-own-their-data.md),
// and a fresh headless Chromium (Debian's package, driven by playwright-core) that reaches
// nothing but this machine.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminBaseUrl, resolveAdminToken } from '@shoplab/shopctl';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const WEB_URL = process.env.WEB_URL ?? 'http://127.0.0.1:8088';
export const GATEWAY_URL = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
/** The gateway's admin listener: its /api/v1/admin/* answer there only (404 on GATEWAY_URL). */
export const GATEWAY_ADMIN_URL = process.env.GATEWAY_ADMIN_URL ?? adminBaseUrl('gateway');
/** The catalog's admin listener (its /v1/admin/products; 404 on its HTTP port). */
const CATALOG_ADMIN_URL = process.env.CATALOG_ADMIN_URL ?? adminBaseUrl('catalog');
const USER_URL = process.env.USER_URL ?? 'http://127.0.0.1:8081';

/** The admin token: $ADMIN_TOKEN, else the local stack's secrets file (as `shopctl` finds it). */
export const ADMIN_TOKEN = resolveAdminToken(undefined, process.env) ?? '';

// biome-ignore lint/suspicious/noExplicitAny: tests read loosely typed JSON.
type Json = any;

export async function send(url: string, method = 'GET', body?: unknown, token?: string): Promise<Json> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export interface Product {
  id: string;
  name: string;
  price: { amount: number; currency: string };
}

/** A product of this test's own, with exactly `stock` units (catalog POST /v1/admin/products). */
export async function createProduct(
  stock: number,
  amount: number,
  name = `Web test ${randomUUID().slice(0, 8)}`,
  category = 'e2e',
): Promise<Product> {
  assert.ok(ADMIN_TOKEN, 'no admin token: set ADMIN_TOKEN or run the local stack (make up)');
  return send(
    `${CATALOG_ADMIN_URL}/v1/admin/products`,
    'POST',
    { name, category, price: { amount, currency: 'USD' }, stock },
    ADMIN_TOKEN,
  );
}

/** The product's units available now, as the public API says. */
export async function availableOf(productId: string): Promise<number> {
  return (await send(`${GATEWAY_URL}/api/v1/products/${encodeURIComponent(productId)}`)).available;
}

/**
 * A new account, registered at the user service itself (for tests whose subject is not sign-up;
 * as test/e2e does, so the gateway's deadline on a scrypt hash does not decide them).
 */
export async function registerShopper(prefix: string): Promise<{ email: string; password: string }> {
  const email = `${prefix}-${randomUUID()}@example.com`;
  const password = 'a long enough password';
  await send(`${USER_URL}/v1/auth/register`, 'POST', { email, password, name: prefix });
  return { email, password };
}

export function usd(amount: number): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(amount / 100);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * A fresh headless Chromium (its own user data directory) with one page. Requests leave for
 * this machine only: anything else (the seeded catalogue's image links) is refused by the page.
 */
export async function openBrowser(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'shoplab-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    return hostname === '127.0.0.1' || hostname === 'localhost' ? route.continue() : route.abort();
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
