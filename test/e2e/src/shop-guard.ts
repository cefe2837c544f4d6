// The tests leave the user's shop as they found it (docs/adr/0015-tests-own-their-data.md).
// `make check` runs its live tests against the databases of the shop a user plays with, so it
// records what that shop holds before them and compares after:
//
//   node test/e2e/dist/shop-guard.js record <file>   # before the live tests
//   node test/e2e/dist/shop-guard.js check <file>    # after them; exit 1 when something was disturbed
//
// Disturbed means: an order or a product that existed before is gone, an order that had ended
// changed its status, a product's initial stock changed or its sold units went down, or (when no
// order was still PENDING before, so nothing of the user's could legitimately move stock) a
// product that existed before was reserved or sold. What the tests add (their own products,
// shoppers and orders) is fine. Not a test file itself (no `.e2e.test` suffix).
import { readFileSync, writeFileSync } from 'node:fs';
import { adminOk } from './support';

export interface ProductCounts {
  initial: number;
  available: number;
  reserved: number;
  sold: number;
}

export interface ShopSnapshot {
  takenAt: string;
  /** Order id → status. */
  orders: Record<string, string>;
  /** Product id → its stock counters. */
  products: Record<string, ProductCounts>;
}

const ENDED = new Set(['CONFIRMED', 'CANCELLED']);

/** Every order and every product's stock, from the order and catalog admin APIs. */
export async function takeSnapshot(): Promise<ShopSnapshot> {
  const orders = await adminOk('order', 'GET', '/v1/admin/orders/audit');
  const stock = await adminOk('catalog', 'GET', '/v1/admin/stock');
  return {
    takenAt: new Date().toISOString(),
    orders: Object.fromEntries((orders.orders as { id: string; status: string }[]).map((o) => [o.id, o.status])),
    products: Object.fromEntries(
      (stock.products as (ProductCounts & { id: string })[]).map(({ id, initial, available, reserved, sold }) => [
        id,
        { initial, available, reserved, sold },
      ]),
    ),
  };
}

/** What the tests did to what the user had before (empty when nothing); pure, so unit-testable. */
export function disturbances(before: ShopSnapshot, after: ShopSnapshot): string[] {
  const found: string[] = [];
  const quiet = Object.values(before.orders).every((status) => ENDED.has(status));
  for (const [id, status] of Object.entries(before.orders)) {
    const now = after.orders[id];
    if (now === undefined) found.push(`order ${id} (${status}) disappeared`);
    else if (ENDED.has(status) && now !== status) found.push(`order ${id} went from ${status} to ${now}`);
  }
  for (const [id, was] of Object.entries(before.products)) {
    const now = after.products[id];
    if (!now) {
      found.push(`product ${id} disappeared`);
      continue;
    }
    if (now.initial !== was.initial) found.push(`product ${id}: initial stock ${was.initial} → ${now.initial}`);
    if (now.sold < was.sold) found.push(`product ${id}: sold ${was.sold} → ${now.sold}`);
    if (quiet && (now.sold !== was.sold || now.reserved !== was.reserved)) {
      found.push(
        `product ${id} of the user's shop was bought: reserved ${was.reserved} → ${now.reserved}, sold ${was.sold} → ${now.sold}`,
      );
    }
  }
  return found;
}

async function main(argv: string[]): Promise<number> {
  const [command, file] = argv;
  if ((command !== 'record' && command !== 'check') || !file) {
    process.stderr.write('usage: node test/e2e/dist/shop-guard.js record|check <file>\n');
    return 2;
  }
  const now = await takeSnapshot();
  const counts = (s: ShopSnapshot) =>
    `${Object.keys(s.orders).length} orders, ${Object.keys(s.products).length} products`;
  if (command === 'record') {
    writeFileSync(file, JSON.stringify(now));
    process.stdout.write(`shop-guard: recorded the shop before the tests: ${counts(now)}\n`);
    return 0;
  }
  const before = JSON.parse(readFileSync(file, 'utf8')) as ShopSnapshot;
  const found = disturbances(before, now);
  process.stdout.write(`shop-guard: before the tests ${counts(before)}; after ${counts(now)}\n`);
  if (found.length === 0) {
    process.stdout.write("shop-guard: the user's orders and products are as they were\n");
    return 0;
  }
  process.stderr.write(`shop-guard: the tests disturbed the user's shop (${found.length}):\n`);
  for (const line of found.slice(0, 20)) process.stderr.write(`  ${line}\n`);
  if (found.length > 20) process.stderr.write(`  … and ${found.length - 20} more\n`);
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`shop-guard: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
