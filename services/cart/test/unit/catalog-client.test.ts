import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import { type CatalogClient, GrpcProductCatalog } from '../../src/infrastructure/catalog.client';

function catalogAnswering(answer: () => Promise<unknown>): GrpcProductCatalog {
  return new GrpcProductCatalog({ call: answer } as unknown as CatalogClient);
}
const failing = (code: ConstructorParameters<typeof ShopError>[0]) => () => Promise.reject(new ShopError(code));
const refusedWith = (expected: string) => (err: unknown) => err instanceof ShopError && err.code === expected;

test('a product the catalog lists comes back with its price and stock', async () => {
  const catalog = catalogAnswering(async () => ({
    products: [{ id: 'mug', price: { amount: 850, currency: 'USD' }, available: 3 }],
    missingIds: [],
  }));
  assert.deepEqual(await catalog.getProduct('mug'), {
    id: 'mug',
    price: { amount: 850, currency: 'USD' },
    available: 3,
  });
});

test('a product the catalog reports missing is SHOP_NOT_FOUND', async () => {
  const catalog = catalogAnswering(async () => ({ products: [], missingIds: ['mug'] }));
  await assert.rejects(catalog.getProduct('mug'), refusedWith('SHOP_NOT_FOUND'));
  await assert.rejects(catalogAnswering(failing('SHOP_NOT_FOUND')).getProduct('mug'), refusedWith('SHOP_NOT_FOUND'));
});

test('an open breaker, a timeout, an outage or a catalog fault is SHOP_DEPENDENCY_UNAVAILABLE', async () => {
  for (const code of ['SHOP_CIRCUIT_OPEN', 'SHOP_TIMEOUT', 'SHOP_DEPENDENCY_UNAVAILABLE', 'SHOP_INTERNAL'] as const) {
    await assert.rejects(
      catalogAnswering(failing(code)).getProduct('mug'),
      (err) => refusedWith('SHOP_DEPENDENCY_UNAVAILABLE')(err) && (err as ShopError).details?.cause === code,
      code,
    );
  }
});
