// HTTP caching of the catalogue against the running shop (docs/patterns/caching.md): a product of
// the test's own has a strong ETag, a conditional GET with it is a 304 with no body, and once a
// checkout has reserved a unit the same ETag gets the whole answer with the new stock and a new
// ETag. `Cache-Control: max-stale` meanwhile answers from the gateway's memory with the old stock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addToCart,
  CARDS,
  call,
  checkout,
  createProduct,
  poll,
  registerShoppers,
  settledOrder,
  stockOf,
} from './support';

test('a product page: ETag → 304; bought from, the old ETag gets a 200 with the new stock; max-stale shows the old', async () => {
  const product = await createProduct(5, 1200);
  const [shopper] = await registerShoppers(1, 'http-caching');
  assert.ok(shopper);
  await addToCart(shopper, product.id, 1);

  const first = await call('GET', `/products/${product.id}`);
  assert.equal(first.status, 200);
  assert.equal(first.body.available, 5);
  const etag = first.headers.get('etag') ?? '';
  assert.match(etag, /^"[^"]+"$/, 'a strong ETag');
  assert.match(first.headers.get('cache-control') ?? '', /^public, max-age=\d+/);

  const same = await call('GET', `/products/${product.id}`, { headers: { 'if-none-match': etag } });
  assert.equal(same.status, 304);
  assert.equal(same.body, undefined, 'no body');
  assert.equal(same.headers.get('etag'), etag);

  const orderId = await checkout(shopper, CARDS.ok);
  await poll('the unit reserved or sold', async () => ((await stockOf(product.id)).available === 4 ? true : undefined));

  const remembered = await call('GET', `/products/${product.id}`, { headers: { 'cache-control': 'max-stale' } });
  assert.equal(remembered.status, 200);
  assert.equal(remembered.body.available, 5, "the gateway's memory, as the catalog said before the checkout");
  assert.match(remembered.headers.get('age') ?? '', /^\d+$/);
  assert.equal(remembered.headers.get('cache-control'), 'no-store');

  const changed = await call('GET', `/products/${product.id}`, { headers: { 'if-none-match': etag } });
  assert.equal(changed.status, 200, 'the stock changed: not a 304');
  assert.equal(changed.body.available, 4);
  assert.notEqual(changed.headers.get('etag'), etag);
  assert.equal(changed.headers.get('age'), null, 'live');

  assert.equal((await settledOrder(shopper, orderId)).status, 'CONFIRMED');
});

test('the product list revalidates with its ETag too', async () => {
  const product = (await createProduct(3, 900, 'e2e-cache')) as Awaited<ReturnType<typeof createProduct>> & {
    name: string;
  };
  const query = `/products?category=e2e-cache&q=${encodeURIComponent(product.name)}`;
  const first = await call('GET', query);
  assert.equal(first.status, 200);
  assert.deepEqual(
    first.body.items.map((p: { id: string }) => p.id),
    [product.id],
  );
  const again = await call('GET', query, {
    headers: { 'if-none-match': first.headers.get('etag') ?? '' },
  });
  assert.equal(again.status, 304);
});
