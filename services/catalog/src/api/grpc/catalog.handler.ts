// CatalogService over gRPC: thin adapters from the generated messages to the use cases.
import { type CallContext, type ServiceImplementation, ShopError } from '@shoplab/chassis';
import { catalogV1 } from '@shoplab/contracts';
import { z } from 'zod';
import type { BrowseCatalog } from '../../application/browse-catalog';
import type { StockReservations } from '../../application/stock-reservations';
import { resolveIdempotencyKey } from '../../domain/idempotency';
import { MAX_PAGE_SIZE, type Product } from '../../domain/product';
import type { Reservation, ReservationStatus } from '../../domain/stock';
import type { CatalogTwoPhaseParticipant } from '../../infrastructure/two-phase.participant';

const { ReservationStatus: WireStatus } = catalogV1;

const STATUS_TO_WIRE: Record<ReservationStatus, catalogV1.ReservationStatus> = {
  RESERVED: WireStatus.RESERVATION_STATUS_RESERVED,
  COMMITTED: WireStatus.RESERVATION_STATUS_COMMITTED,
  RELEASED: WireStatus.RESERVATION_STATUS_RELEASED,
  RESTOCKED: WireStatus.RESERVATION_STATUS_RESTOCKED,
};

const id = z.string().min(1, 'is required').max(200);
const schemas = {
  getProduct: z.object({ id }),
  batchGetProducts: z.object({ ids: z.array(id).max(MAX_PAGE_SIZE) }),
  // proto3 sends 0 and '' for unset fields: 0 means the default page size.
  listProducts: z.object({
    category: z.string().max(50),
    query: z.string().max(100),
    limit: z.number().int().min(0).max(MAX_PAGE_SIZE),
    cursor: z.string().max(500),
  }),
  reserveStock: z.object({
    idempotencyKey: z.string().max(200),
    reservationId: id,
    lines: z
      .array(z.object({ productId: id, quantity: z.number().int().min(1, 'must be at least 1') }))
      .min(1, 'needs at least one line'),
  }),
  transition: z.object({ idempotencyKey: z.string().max(200), reservationId: id }),
  finishPrepared: z.object({ transactionId: id, commit: z.boolean() }),
};

/** Parses a request with its schema; a mismatch is INVALID_ARGUMENT naming the fields. */
function parse<T>(schema: z.ZodType<T>, request: unknown): T {
  const result = schema.safeParse(request);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
  throw new ShopError('SHOP_VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
}

function toWireProduct(product: Product): catalogV1.Product {
  return { ...product, price: { amount: product.price.amount, currency: product.price.currency } };
}

function toWireReservation(reservation: Reservation): catalogV1.Reservation {
  return {
    id: reservation.id,
    status: STATUS_TO_WIRE[reservation.status],
    lines: reservation.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
  };
}

export function catalogHandlers(deps: {
  browse: BrowseCatalog;
  stock: StockReservations;
  twoPhase: CatalogTwoPhaseParticipant;
}): ServiceImplementation<typeof catalogV1.CatalogServiceService> {
  const { browse, stock, twoPhase } = deps;
  const transition =
    (command: 'commit' | 'release' | 'restock') =>
    async (request: { idempotencyKey: string; reservationId: string }, ctx: CallContext) => {
      const req = parse(schemas.transition, request);
      const reservation = await stock[command]({
        idempotencyKey: resolveIdempotencyKey(req.idempotencyKey, ctx.idempotencyKey),
        reservationId: req.reservationId,
      });
      return { reservation: toWireReservation(reservation) };
    };

  return {
    getProduct: async (request) => {
      const req = parse(schemas.getProduct, request);
      return { product: toWireProduct(await browse.get(req.id)) };
    },
    batchGetProducts: async (request) => {
      const req = parse(schemas.batchGetProducts, request);
      const { products, missingIds } = await browse.getMany(req.ids);
      return { products: products.map(toWireProduct), missingIds };
    },
    listProducts: async (request) => {
      const req = parse(schemas.listProducts, request);
      const page = await browse.list({
        category: req.category,
        q: req.query,
        ...(req.limit > 0 ? { limit: req.limit } : {}),
        ...(req.cursor ? { cursor: req.cursor } : {}),
      });
      return { products: page.items.map(toWireProduct), nextCursor: page.nextCursor ?? '' };
    },
    reserveStock: async (request, ctx) => {
      const req = parse(schemas.reserveStock, request);
      const reservation = await stock.reserve({
        idempotencyKey: resolveIdempotencyKey(req.idempotencyKey, ctx.idempotencyKey),
        reservationId: req.reservationId,
        lines: req.lines,
      });
      return { reservation: toWireReservation(reservation) };
    },
    commitStock: transition('commit'),
    releaseStock: transition('release'),
    restockCommitted: transition('restock'),
    prepareReserveStock: async (request, ctx) => {
      const req = parse(schemas.reserveStock, request);
      const reservation = await twoPhase.prepareReserve(parse(id, request.transactionId), {
        idempotencyKey: resolveIdempotencyKey(req.idempotencyKey, ctx.idempotencyKey),
        reservationId: req.reservationId,
        lines: req.lines,
      });
      return { reservation: toWireReservation(reservation) };
    },
    finishPrepared: async (request) => {
      const req = parse(schemas.finishPrepared, request);
      return { outcome: await twoPhase.finish(req.transactionId, req.commit) };
    },
  };
}
