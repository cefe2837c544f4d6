import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManageProducts } from '../../src/application/manage-products';
import type { ProductWriter } from '../../src/application/ports';
import type { NewProduct } from '../../src/domain/product';

/** A writer that keeps what it was given and answers like the database would. */
function recordingWriter() {
  const created: NewProduct[] = [];
  const writer: ProductWriter = {
    async create(product) {
      created.push(product);
      const { initialStock, ...rest } = product;
      return { ...rest, available: initialStock };
    },
  };
  return { writer, created };
}

describe('adding a product', () => {
  test('gets a new id that sorts after the seed, a SKU derived from it, and its stock as initial units', async () => {
    const { writer, created } = recordingWriter();
    const products = new ManageProducts(writer);
    const product = await products.add({
      name: 'Kafka mug',
      category: 'kitchen',
      price: { amount: 1500, currency: 'USD' },
      stock: 4,
    });
    assert.match(product.id, /^prd-[0-9a-f-]{36}$/);
    assert.ok(product.id > 'p-9999');
    assert.deepEqual(created, [
      {
        id: product.id,
        sku: product.id.toUpperCase(),
        name: 'Kafka mug',
        description: '',
        category: 'kitchen',
        price: { amount: 1500, currency: 'USD' },
        imageUrl: '',
        initialStock: 4,
      },
    ]);
    assert.equal(product.available, 4);
    const other = await products.add({ name: 'x', category: 'y', price: { amount: 1, currency: 'USD' }, stock: 0 });
    assert.notEqual(other.id, product.id);
  });

  test('keeps a given SKU, description and image', async () => {
    const { writer, created } = recordingWriter();
    await new ManageProducts(writer, () => 'prd-fixed').add({
      sku: 'MUG-1',
      name: 'Kafka mug',
      description: 'Holds a log of coffee',
      category: 'kitchen',
      price: { amount: 1500, currency: 'EUR' },
      imageUrl: 'https://example.com/mug.png',
      stock: 2,
    });
    assert.deepEqual(created[0], {
      id: 'prd-fixed',
      sku: 'MUG-1',
      name: 'Kafka mug',
      description: 'Holds a log of coffee',
      category: 'kitchen',
      price: { amount: 1500, currency: 'EUR' },
      imageUrl: 'https://example.com/mug.png',
      initialStock: 2,
    });
  });
});
