// Applies the demo catalog idempotently: existing products and their stock are left as they are.
import type { CatalogPrisma } from './database';
import { SEED_PRODUCTS, type SeedProduct } from './seed-data';

/** Inserts the products and stock rows that are missing; returns how many products were new. */
export async function seedCatalog(prisma: CatalogPrisma, products: readonly SeedProduct[] = SEED_PRODUCTS) {
  return prisma.$transaction(async (tx) => {
    const inserted = await tx.$executeRawUnsafe(
      `INSERT INTO products (id, sku, name, description, category, price_amount, currency, image_url)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[])
       ON CONFLICT DO NOTHING`,
      products.map((p) => p.id),
      products.map((p) => p.sku),
      products.map((p) => p.name),
      products.map((p) => p.description),
      products.map((p) => p.category),
      products.map((p) => p.priceAmount),
      products.map((p) => p.currency),
      products.map((p) => p.imageUrl),
    );
    // Only products that exist get stock (a conflicting SKU under another id is skipped above).
    await tx.$executeRawUnsafe(
      `INSERT INTO stock (product_id, initial, available)
       SELECT s.id, s.n, s.n FROM unnest($1::text[], $2::int[]) AS s(id, n)
        WHERE EXISTS (SELECT 1 FROM products p WHERE p.id = s.id)
       ON CONFLICT DO NOTHING`,
      products.map((p) => p.id),
      products.map((p) => p.initialStock),
    );
    return { products: products.length, inserted };
  });
}
