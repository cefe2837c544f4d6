// Product reads and writes with Prisma. `available` comes from the product's stock row.
import { createContractEvent, ShopError, writeOutbox } from '@shoplab/chassis';
import { ProductCreatedV1 } from '@shoplab/contracts';
import type { PopularProductQuery, ProductQuery, ProductReader, ProductWriter } from '../application/ports';
import type { CategorySummary, NewProduct, Product } from '../domain/product';
import { Prisma } from '../generated/prisma/client';
import type { CatalogPrisma } from './database';
import { SERVICE } from './stock.store';

export const PRODUCT_CREATED = ProductCreatedV1.type;

const withStock = { stock: { select: { available: true } } } as const;
type ProductRow = Prisma.ProductGetPayload<{ include: typeof withStock }>;

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    price: { amount: row.priceAmount, currency: row.currency },
    available: row.stock?.available ?? 0,
    imageUrl: row.imageUrl,
  };
}

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
