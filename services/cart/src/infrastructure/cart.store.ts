// CartStore on Prisma. A change locks the cart row (creating it if missing) before touching its
// lines, so concurrent changes to one cart apply one after the other and versions never repeat;
// the outbox rows are written after that lock (writeOutbox's ordering rule).
import { type DomainEvent, writeOutbox } from '@shoplab/chassis';
import type { CartStore, CartTx, OrderClearances } from '../application/ports';
import { type Cart, type CartLine, emptyCart, type ProductQuantity } from '../domain/cart';
import type { Prisma, PrismaClient } from '../generated/prisma/client';

type Db = PrismaClient | Prisma.TransactionClient;

async function readCart(db: Db, userId: string): Promise<Cart> {
  const row = await db.cart.findUnique({
    where: { userId },
    include: { lines: { orderBy: [{ addedAt: 'asc' }, { productId: 'asc' }] } },
  });
  if (!row) return emptyCart(userId);
  return {
    userId,
    version: Number(row.version),
    updatedAt: row.version > 0n ? row.updatedAt : null,
    lines: row.lines.map(
      (l): CartLine => ({
        productId: l.productId,
        quantity: l.quantity,
        unitPrice: { amount: Number(l.unitPriceAmount), currency: l.currency },
      }),
    ),
  };
}

class PrismaCartTx implements CartTx {
  constructor(
    private readonly tx: Prisma.TransactionClient,
    private readonly userId: string,
    private readonly topic: string | undefined,
  ) {}

  async putLine(line: CartLine): Promise<void> {
    const data = {
      quantity: line.quantity,
      unitPriceAmount: BigInt(line.unitPrice.amount),
      currency: line.unitPrice.currency,
    };
    await this.tx.cartLine.upsert({
      where: { userId_productId: { userId: this.userId, productId: line.productId } },
      create: { userId: this.userId, productId: line.productId, ...data },
      update: data,
    });
  }

  async deleteLine(productId: string): Promise<void> {
    await this.tx.cartLine.delete({ where: { userId_productId: { userId: this.userId, productId } } });
  }

  async deleteAllLines(): Promise<void> {
    await this.tx.cartLine.deleteMany({ where: { userId: this.userId } });
  }

  async bumpVersion(): Promise<void> {
    await this.tx.cart.update({ where: { userId: this.userId }, data: { version: { increment: 1 } } });
  }

  async writeEvents(events: DomainEvent[]): Promise<void> {
    await writeOutbox(this.tx, events, this.topic ? { topic: this.topic } : {});
  }

  read(): Promise<Cart> {
    return readCart(this.tx, this.userId);
  }
}

export class PrismaCartStore implements CartStore {
  constructor(
    private readonly prisma: PrismaClient,
    /** Topic for the events (default `cart.events`; tests use their own). */
    private readonly topic?: string,
  ) {}

  get(userId: string): Promise<Cart> {
    return readCart(this.prisma, userId);
  }

  change<T>(userId: string, work: (cart: Cart, tx: CartTx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`
          INSERT INTO carts (user_id, updated_at) VALUES (${userId}, now()) ON CONFLICT (user_id) DO NOTHING`;
        await tx.$queryRaw`SELECT user_id FROM carts WHERE user_id = ${userId} FOR UPDATE`;
        const cartTx = new PrismaCartTx(tx, userId, this.topic);
        return work(await cartTx.read(), cartTx);
      },
      { maxWait: 5_000, timeout: 10_000 },
    );
  }
}

/**
 * OrderClearances inside the order-events consumer's transaction. The claim (a row per order)
 * comes before the cart lock; an HTTP change takes only the cart lock, so the two cannot deadlock.
 */
export class PrismaOrderClearances implements OrderClearances {
  constructor(
    private readonly tx: Prisma.TransactionClient,
    /** Topic for the cart's events (default `cart.events`). */
    private readonly topic?: string,
  ) {}

  async claim(orderId: string, userId: string, eventId: string): Promise<boolean> {
    const claimed = await this.tx.$queryRaw<{ order_id: string }[]>`
      INSERT INTO order_clearances (order_id, user_id, event_id, removed)
      VALUES (${orderId}, ${userId}, ${eventId}::uuid, '[]'::jsonb)
      ON CONFLICT (order_id) DO NOTHING
      RETURNING order_id`;
    return claimed.length > 0;
  }

  async changeExisting<T>(userId: string, work: (cart: Cart, tx: CartTx) => Promise<T>): Promise<T | undefined> {
    const locked = await this.tx.$queryRaw<{ user_id: string }[]>`
      SELECT user_id FROM carts WHERE user_id = ${userId} FOR UPDATE`;
    if (locked.length === 0) return undefined;
    const cartTx = new PrismaCartTx(this.tx, userId, this.topic);
    return work(await cartTx.read(), cartTx);
  }

  async recordRemoved(orderId: string, removed: ProductQuantity[], cartVersion: number | null): Promise<void> {
    await this.tx.orderClearance.update({
      where: { orderId },
      data: {
        removed: removed.map((r) => ({ productId: r.productId, quantity: r.quantity })),
        cartVersion: cartVersion === null ? null : BigInt(cartVersion),
      },
    });
  }
}
