// Product reads in plain SQL on the pg pool under the service's Prisma client (ADR 48), the same
// reads through Prisma (the reference the SQL's tests compare with), and the admin's writes with
// Prisma. `available` comes from the product's stock row.
import { createContractEvent, ShopError, writeOutbox } from '@shoplab/chassis';
import { ProductCreatedV1 } from '@shoplab/contracts';
import type pg from 'pg';
import type { PopularProductQuery, ProductQuery, ProductReader, ProductWriter } from '../application/ports';
import type { CategorySummary, NewProduct, Product } from '../domain/product';
import { Prisma } from '../generated/prisma/client';
import type { CatalogPrisma } from './database';
import { SERVICE } from './stock.store';

export const PRODUCT_CREATED = ProductCreatedV1.type;

const withStock = { stock: { select: { available: true } } } as const;
type ProductRow = Prisma.ProductGetPayload<{ include: typeof withStock }>;

function toProduct(row: ProductRow): Product {
  return productOf({ ...row, available: row.stock?.available ?? 0 });
}

/** A products row joined with its stock's `available`, as both readers have it. */
interface ProductSqlRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceAmount: number;
  currency: string;
  imageUrl: string;
  available: number;
}

function productOf(row: ProductSqlRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    price: { amount: row.priceAmount, currency: row.currency },
    available: row.available,
    imageUrl: row.imageUrl,
  };
}

const PRODUCT_COLUMNS = `p.id, p.sku, p.name, p.description, p.category, p.price_amount AS "priceAmount", p.currency,
       p.image_url AS "imageUrl", coalesce(s.available, 0) AS available`;
const PRODUCTS_WITH_STOCK = 'products p LEFT JOIN stock s ON s.product_id = p.id';

/**
 * The catalog's reads as one statement each on the pg pool: the product list is the shop's most
 * requested page, and Prisma's query compiler and client runtime were a third of its CPU
 * (docs/benchmarks.md, "catalog"). Same rows, same order as PrismaProductReader.
 */
export class SqlProductReader implements ProductReader {
  constructor(private readonly pool: pg.Pool) {}

  async list(query: ProductQuery): Promise<Product[]> {
    const values: unknown[] = [];
    const conditions: string[] = [];
    if (query.category) {
      values.push(query.category);
      conditions.push(`p.category = $${values.length}`);
    }
    if (query.afterId) {
      values.push(query.afterId);
      conditions.push(`p.id > $${values.length}`);
    }
    if (query.text) {
      values.push(`%${escapeLike(query.text)}%`);
      conditions.push(`(p.name ILIKE $${values.length} OR p.description ILIKE $${values.length})`);
    }
    values.push(query.limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.pool.query<ProductSqlRow>(
      `SELECT ${PRODUCT_COLUMNS} FROM ${PRODUCTS_WITH_STOCK} ${where} ORDER BY p.id LIMIT $${values.length}`,
      values,
    );
    return rows.map(productOf);
  }

  async listPopular(query: PopularProductQuery): Promise<(Product & { unitsSold: number })[]> {
    const values: unknown[] = [];
    const sold = 'coalesce(ps.units_sold, 0)';
    const conditions: string[] = [];
    if (query.category) {
      values.push(query.category);
      conditions.push(`p.category = $${values.length}`);
    }
    if (query.text) {
      values.push(`%${escapeLike(query.text)}%`);
      conditions.push(`(p.name ILIKE $${values.length} OR p.description ILIKE $${values.length})`);
    }
    if (query.after) {
      values.push(query.after.unitsSold, query.after.id);
      const [unitsSold, id] = [`$${values.length - 1}::int`, `$${values.length}`];
      conditions.push(`(${sold} < ${unitsSold} OR (${sold} = ${unitsSold} AND p.id > ${id}))`);
    }
    values.push(query.limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.pool.query<ProductSqlRow & { units_sold: number }>(
      `SELECT ${PRODUCT_COLUMNS}, ${sold}::int AS units_sold
         FROM ${PRODUCTS_WITH_STOCK} LEFT JOIN product_sales ps ON ps.product_id = p.id
         ${where}
        ORDER BY ${sold} DESC, p.id ASC
        LIMIT $${values.length}`,
      values,
    );
    return rows.map((row) => ({ ...productOf(row), unitsSold: row.units_sold }));
  }

  async get(id: string): Promise<Product | undefined> {
    const { rows } = await this.pool.query<ProductSqlRow>(
      `SELECT ${PRODUCT_COLUMNS} FROM ${PRODUCTS_WITH_STOCK} WHERE p.id = $1`,
      [id],
    );
    return rows[0] ? productOf(rows[0]) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Product[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<ProductSqlRow>(
      `SELECT ${PRODUCT_COLUMNS} FROM ${PRODUCTS_WITH_STOCK} WHERE p.id = ANY($1::text[]) ORDER BY p.id`,
      [[...ids]],
    );
    return rows.map(productOf);
  }

  async categories(): Promise<CategorySummary[]> {
    const { rows } = await this.pool.query<CategorySummary>(
      'SELECT category AS name, count(*)::int AS count FROM products GROUP BY category ORDER BY category',
    );
    return rows;
  }
}

/** The same reads through Prisma's query builder: the reference the SQL reader is tested against. */
export class PrismaProductReader implements ProductReader {
  constructor(private readonly prisma: CatalogPrisma) {}

  async list(query: ProductQuery): Promise<Product[]> {
    // Prisma passes `contains` to ILIKE as it is: escape the wildcards so they match literally.
    const text = query.text === undefined ? undefined : escapeLike(query.text);
    const where: Prisma.ProductWhereInput = {
      ...(query.category ? { category: query.category } : {}),
      ...(query.afterId ? { id: { gt: query.afterId } } : {}),
      ...(text
        ? {
            OR: [
              { name: { contains: text, mode: 'insensitive' } },
              { description: { contains: text, mode: 'insensitive' } },
            ],
          }
        : {}),
    };
    const rows = await this.prisma.product.findMany({
      where,
      include: withStock,
      orderBy: { id: 'asc' },
      take: query.limit,
    });
    return rows.map(toProduct);
  }

  async listPopular(query: PopularProductQuery): Promise<(Product & { unitsSold: number })[]> {
    const sold = Prisma.sql`coalesce(s.units_sold, 0)`;
    const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
    if (query.category) conditions.push(Prisma.sql`p.category = ${query.category}`);
    if (query.text) {
      const pattern = `%${escapeLike(query.text)}%`;
      conditions.push(Prisma.sql`(p.name ILIKE ${pattern} OR p.description ILIKE ${pattern})`);
    }
    if (query.after) {
      const { unitsSold, id } = query.after;
      conditions.push(Prisma.sql`(${sold} < ${unitsSold} OR (${sold} = ${unitsSold} AND p.id > ${id}))`);
    }
    const ranked = await this.prisma.$queryRaw<{ id: string; units_sold: number }[]>`
        SELECT p.id, ${sold}::int AS units_sold
          FROM products p LEFT JOIN product_sales s ON s.product_id = p.id
         WHERE ${Prisma.join(conditions, ' AND ')}
         ORDER BY ${sold} DESC, p.id ASC
         LIMIT ${query.limit}`;
    const products = new Map((await this.getMany(ranked.map((r) => r.id))).map((p) => [p.id, p]));
    return ranked.flatMap((r) => {
      const product = products.get(r.id);
      return product ? [{ ...product, unitsSold: r.units_sold }] : [];
    });
  }

  async get(id: string): Promise<Product | undefined> {
    const row = await this.prisma.product.findUnique({ where: { id }, include: withStock });
    return row ? toProduct(row) : undefined;
  }

  async getMany(ids: readonly string[]): Promise<Product[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.product.findMany({
      where: { id: { in: [...ids] } },
      include: withStock,
      orderBy: { id: 'asc' },
    });
    return rows.map(toProduct);
  }

  async categories(): Promise<CategorySummary[]> {
    const groups = await this.prisma.product.groupBy({
      by: ['category'],
      _count: { _all: true },
      orderBy: { category: 'asc' },
    });
    return groups.map((g) => ({ name: g.category, count: g._count._all }));
  }
}

export class PrismaProductWriter implements ProductWriter {
  constructor(private readonly prisma: CatalogPrisma) {}

  async create(product: NewProduct): Promise<Product> {
    try {
      const row = await this.prisma.$transaction(async (tx) => {
        const created = await tx.product.create({
          data: {
            id: product.id,
            sku: product.sku,
            name: product.name,
            description: product.description,
            category: product.category,
            priceAmount: product.price.amount,
            currency: product.price.currency,
            imageUrl: product.imageUrl,
            stock: { create: { initial: product.initialStock, available: product.initialStock } },
          },
          include: withStock,
        });
        await writeOutbox(
          tx,
          createContractEvent(ProductCreatedV1, {
            service: SERVICE,
            subject: product.id,
            data: {
              productId: product.id,
              sku: product.sku,
              name: product.name,
              category: product.category,
              price: product.price,
              initialStock: product.initialStock,
            },
          }),
        );
        return created;
      });
      return toProduct(row);
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        throw new ShopError('SHOP_ALREADY_EXISTS', `A product with SKU ${product.sku} exists already`, {
          sku: product.sku,
        });
      }
      throw err;
    }
  }
}

/** Escapes LIKE's wildcards (and its escape character) so the text matches literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
