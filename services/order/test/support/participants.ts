// Fake saga participants: user, catalog and payment gRPC services (served by the chassis'
// createGrpcServer in the harness) that behave like the real ones where the saga depends on it
// — a command with a known idempotency key returns its first outcome and never acts twice,
// releasing an unknown reservation records it as released, voiding a declined payment is a
// no-op — and that a test can script per method: refuse, fail transiently, hang, or act and
// then lose the answer. They keep every call they received and every effect they applied.
import { randomUUID } from 'node:crypto';
import { type CallContext, ShopError } from '@shoplab/chassis';
import { catalogV1, paymentV1, type userV1 } from '@shoplab/contracts';

export type Behaviour =
  | 'ok'
  /** UNAVAILABLE before acting. */
  | 'unavailable'
  /** Never answers, never acts: the caller's deadline passes. */
  | 'hang'
  /** Acts, then never answers: the caller cannot know it acted. */
  | 'lose-answer'
  /** A business refusal. */
  | { refuse: ShopError };

export interface ReceivedCall {
  /** Order of arrival across every fake. */
  seq: number;
  method: string;
  /** The `idempotency-key` header. */
  key: string | undefined;
  request: unknown;
}

let sequence = 0;

/** Per-method behaviours: queued ones first, then the standing one, then 'ok'. */
class Script {
  private readonly queued = new Map<string, Behaviour[]>();
  private readonly standing = new Map<string, Behaviour>();

  next(method: string, ...behaviours: Behaviour[]): void {
    this.queued.set(method, [...(this.queued.get(method) ?? []), ...behaviours]);
  }

  always(method: string, behaviour: Behaviour): void {
    this.standing.set(method, behaviour);
  }

  take(method: string): Behaviour {
    return this.queued.get(method)?.shift() ?? this.standing.get(method) ?? 'ok';
  }

  reset(): void {
    this.queued.clear();
    this.standing.clear();
  }
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new ShopError('SHOP_TIMEOUT', 'the caller gave up'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** What every fake shares: the script, the journal of calls and effects, per-order concurrency. */
abstract class FakeParticipant {
  readonly script = new Script();
  readonly calls: ReceivedCall[] = [];
  /** Effects applied (replays and no-ops are not effects): `{method, subject}`. */
  readonly effects: { method: string; subject: string }[] = [];
  /** Simulated latency of every call. */
  latencyMs = 0;
  /** The most calls ever in flight at once for one order. */
  maxInFlightPerOrder = 0;
  private readonly inFlight = new Map<string, number>();

  callsOf(method: string, orderId?: string): ReceivedCall[] {
    return this.calls.filter((c) => c.method === method && (!orderId || c.key?.startsWith(orderId)));
  }

  effectsOf(method: string, subject?: string): number {
    return this.effects.filter((e) => e.method === method && (!subject || e.subject === subject)).length;
  }

  reset(): void {
    this.script.reset();
    this.calls.length = 0;
    this.effects.length = 0;
    this.latencyMs = 0;
    this.maxInFlightPerOrder = 0;
  }

  protected async handle<T>(
    method: string,
    orderId: string,
    request: unknown,
    ctx: CallContext,
    act: () => T,
  ): Promise<T> {
    this.calls.push({ seq: ++sequence, method, key: ctx.idempotencyKey, request });
    const n = (this.inFlight.get(orderId) ?? 0) + 1;
    this.inFlight.set(orderId, n);
    this.maxInFlightPerOrder = Math.max(this.maxInFlightPerOrder, n);
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      const behaviour = this.script.take(method);
      if (behaviour === 'unavailable') throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `${method}: injected outage`);
      if (behaviour === 'hang') return await untilAborted(ctx.signal);
      if (typeof behaviour === 'object') throw behaviour.refuse;
      const result = act();
      if (behaviour === 'lose-answer') return await untilAborted(ctx.signal);
      return result;
    } finally {
      this.inFlight.set(orderId, (this.inFlight.get(orderId) ?? 1) - 1);
    }
  }
}

/** A command's first outcome, replayed for its idempotency key. */
type Outcome<T> = { ok: T } | { error: ShopError };

function remember<T>(outcomes: Map<string, Outcome<unknown>>, key: string | undefined, act: () => T): T {
  if (!key) throw new ShopError('SHOP_VALIDATION_FAILED', 'idempotency key required');
  const known = outcomes.get(key) as Outcome<T> | undefined;
  if (known) {
    if ('error' in known) throw known.error;
    return known.ok;
  }
  try {
    const ok = act();
    outcomes.set(key, { ok });
    return ok;
  } catch (err) {
    // Like the real services: declines are recorded, state conflicts are not (a retry may pass).
    if (err instanceof ShopError && (err.code === 'SHOP_PAYMENT_DECLINED' || err.code === 'SHOP_INSUFFICIENT_FUNDS')) {
      outcomes.set(key, { error: err });
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------

export class FakeUsers extends FakeParticipant {
  /** Users that do not exist (every other id does). */
  readonly unknown = new Set<string>();
  /** Saved addresses by user. */
  readonly addresses = new Map<string, userV1.Address[]>();

  implementation() {
    return {
      getUser: (req: userV1.GetUserRequest, ctx: CallContext): Promise<userV1.GetUserResponse> =>
        this.handle('getUser', req.id, req, ctx, () => {
          if (this.unknown.has(req.id)) throw new ShopError('SHOP_NOT_FOUND', `No user ${req.id}`);
          return {
            user: {
              id: req.id,
              email: `${req.id}@example.test`,
              name: req.id,
              addresses: this.addresses.get(req.id) ?? [],
              createdAt: new Date().toISOString(),
            },
          };
        }),
      validateAddress: (
        req: userV1.ValidateAddressRequest,
        ctx: CallContext,
      ): Promise<userV1.ValidateAddressResponse> =>
        this.handle('validateAddress', req.userId, req, ctx, () => {
          if (req.addressId) {
            const saved = this.addresses.get(req.userId)?.find((a) => a.id === req.addressId);
            if (!saved) throw new ShopError('SHOP_NOT_FOUND', `No address ${req.addressId}`);
            return { address: saved };
          }
          if (!req.address || !/^[A-Z]{2}$/.test(req.address.country)) {
            throw new ShopError('SHOP_VALIDATION_FAILED', 'not a valid address');
          }
          return { address: { ...req.address, line1: req.address.line1.toUpperCase() } };
        }),
    };
  }
}

// ---------------------------------------------------------------------------------------

type ReservationState = 'RESERVED' | 'COMMITTED' | 'RELEASED' | 'RESTOCKED';
const RESERVATION_STATUS: Record<ReservationState, catalogV1.ReservationStatus> = {
  RESERVED: catalogV1.ReservationStatus.RESERVATION_STATUS_RESERVED,
  COMMITTED: catalogV1.ReservationStatus.RESERVATION_STATUS_COMMITTED,
  RELEASED: catalogV1.ReservationStatus.RESERVATION_STATUS_RELEASED,
  RESTOCKED: catalogV1.ReservationStatus.RESERVATION_STATUS_RESTOCKED,
};

/** catalog.v1.CatalogService: products for checkout, stock for the saga. */
export class FakeCatalog extends FakeParticipant {
  readonly products = new Map<string, { name: string; price: number }>();
  /** Units available per product (100 unless set). */
  readonly available = new Map<string, number>();
  readonly reservations = new Map<string, { status: ReservationState; lines: catalogV1.StockLine[] }>();
  private readonly outcomes = new Map<string, Outcome<unknown>>();
  /** BatchGetProducts calls (checkout). */
  reads = 0;

  implementation() {
    const unsupported = async (_req: unknown, ctx: CallContext): Promise<never> => {
      throw new ShopError('SHOP_BAD_REQUEST', `the fake catalog does not implement ${ctx.method}`);
    };
    const product = (id: string): catalogV1.Product | undefined => {
      const p = this.products.get(id);
      return p
        ? {
            id,
            sku: `SKU-${id}`,
            name: p.name,
            description: '',
            category: 'test',
            price: { amount: p.price, currency: 'USD' },
            available: this.available.get(id) ?? 100,
            imageUrl: '',
          }
        : undefined;
    };
    return {
      batchGetProducts: async (req: catalogV1.BatchGetProductsRequest): Promise<catalogV1.BatchGetProductsResponse> => {
        this.reads++;
        const products = req.ids.map(product).filter((p): p is catalogV1.Product => p !== undefined);
        return { products, missingIds: req.ids.filter((id) => !this.products.has(id)) };
      },
      getProduct: unsupported,
      listProducts: unsupported,
      reserveStock: (req: catalogV1.ReserveStockRequest, ctx: CallContext) =>
        this.handle('reserveStock', req.reservationId, req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.reserve(req)),
        ),
      commitStock: (req: catalogV1.CommitStockRequest, ctx: CallContext) =>
        this.handle('commitStock', req.reservationId, req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.transition('commitStock', req.reservationId)),
        ),
      releaseStock: (req: catalogV1.ReleaseStockRequest, ctx: CallContext) =>
        this.handle('releaseStock', req.reservationId, req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.transition('releaseStock', req.reservationId)),
        ),
      restockCommitted: (req: catalogV1.RestockCommittedRequest, ctx: CallContext) =>
        this.handle('restockCommitted', req.reservationId, req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.transition('restockCommitted', req.reservationId)),
        ),
      // The two-phase checkout's participant is the real catalog (its integration tests).
      prepareReserveStock: unsupported,
      finishPrepared: unsupported,
    };
  }

  /** The same key in the request and in the header, then the idempotency frame. */
  private command<T>(key: string, ctx: CallContext, act: () => T): T {
    if (key !== ctx.idempotencyKey) throw new ShopError('SHOP_VALIDATION_FAILED', 'key and header differ');
    return remember(this.outcomes, key, act);
  }

  private reserve(req: catalogV1.ReserveStockRequest): catalogV1.ReserveStockResponse {
    const existing = this.reservations.get(req.reservationId);
    if (existing) {
      if (existing.lines.length === 0) {
        throw new ShopError('SHOP_RESERVATION_INVALID_STATE', 'released before it was reserved', {
          status: existing.status,
        });
      }
      return { reservation: this.view(req.reservationId) };
    }
    for (const line of req.lines) {
      if ((this.available.get(line.productId) ?? 100) < line.quantity) {
        throw new ShopError('SHOP_OUT_OF_STOCK', `Not enough ${line.productId}`, { productId: line.productId });
      }
    }
    for (const line of req.lines) {
      this.available.set(line.productId, (this.available.get(line.productId) ?? 100) - line.quantity);
    }
    this.reservations.set(req.reservationId, { status: 'RESERVED', lines: req.lines });
    this.effects.push({ method: 'reserveStock', subject: req.reservationId });
    return { reservation: this.view(req.reservationId) };
  }

  private transition(method: 'commitStock' | 'releaseStock' | 'restockCommitted', id: string) {
    const [from, to] = {
      commitStock: ['RESERVED', 'COMMITTED'],
      releaseStock: ['RESERVED', 'RELEASED'],
      restockCommitted: ['COMMITTED', 'RESTOCKED'],
    }[method] as [ReservationState, ReservationState];
    const r = this.reservations.get(id);
    if (!r) {
      if (method !== 'releaseStock') throw new ShopError('SHOP_NOT_FOUND', `No reservation ${id}`);
      // Like the real catalog: an unknown id is recorded as released, so a late reserve holds nothing.
      this.reservations.set(id, { status: 'RELEASED', lines: [] });
      return { reservation: this.view(id) };
    }
    if (r.status === to) return { reservation: this.view(id) };
    if (r.status !== from) {
      throw new ShopError('SHOP_RESERVATION_INVALID_STATE', `Cannot ${method} a ${r.status} reservation`, {
        reservationId: id,
        status: r.status,
        expected: from,
      });
    }
    if (method !== 'commitStock') {
      for (const line of r.lines) {
        this.available.set(line.productId, (this.available.get(line.productId) ?? 100) + line.quantity);
      }
    }
    r.status = to;
    this.effects.push({ method, subject: id });
    return { reservation: this.view(id) };
  }

  private view(id: string): catalogV1.Reservation {
    const r = this.reservations.get(id)!;
    return { id, status: RESERVATION_STATUS[r.status], lines: r.lines };
  }
}

// ---------------------------------------------------------------------------------------

type PaymentState = 'AUTHORIZED' | 'CAPTURED' | 'VOIDED' | 'REFUNDED' | 'DECLINED';
const PAYMENT_STATUS: Record<PaymentState, paymentV1.PaymentStatus> = {
  AUTHORIZED: paymentV1.PaymentStatus.PAYMENT_STATUS_AUTHORIZED,
  CAPTURED: paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED,
  VOIDED: paymentV1.PaymentStatus.PAYMENT_STATUS_VOIDED,
  REFUNDED: paymentV1.PaymentStatus.PAYMENT_STATUS_REFUNDED,
  DECLINED: paymentV1.PaymentStatus.PAYMENT_STATUS_DECLINED,
};

export const DECLINED_CARD = '4000000000000002';
export const NO_FUNDS_CARD = '4000000000009995';

/** payment.v1.PaymentService with the real one's test cards. */
export class FakePayments extends FakeParticipant {
  readonly payments = new Map<
    string,
    { orderId: string; status: PaymentState; amount: number; currency: string; refunded: number; card: string }
  >();
  private readonly outcomes = new Map<string, Outcome<unknown>>();

  forOrder(orderId: string) {
    const all = [...this.payments.entries()].filter(([, p]) => p.orderId === orderId);
    const [id, payment] = all.find(([, p]) => p.status !== 'DECLINED') ?? all[all.length - 1] ?? [];
    return id && payment ? { id, ...payment } : undefined;
  }

  implementation() {
    const unsupported = async (_req: unknown, ctx: CallContext): Promise<never> => {
      throw new ShopError('SHOP_BAD_REQUEST', `the fake payment does not implement ${ctx.method}`);
    };
    return {
      authorize: (req: paymentV1.AuthorizeRequest, ctx: CallContext) =>
        this.handle('authorize', req.orderId, req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.authorize(req)),
        ),
      capture: (req: paymentV1.CaptureRequest, ctx: CallContext) =>
        this.handle('capture', this.orderOf(req.paymentId), req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.move('capture', req.paymentId)),
        ),
      void: (req: paymentV1.VoidRequest, ctx: CallContext) =>
        this.handle('void', this.orderOf(req.paymentId), req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.move('void', req.paymentId)),
        ),
      refund: (req: paymentV1.RefundRequest, ctx: CallContext) =>
        this.handle('refund', this.orderOf(req.paymentId), req, ctx, () =>
          this.command(req.idempotencyKey, ctx, () => this.move('refund', req.paymentId)),
        ),
      getPayment: (req: paymentV1.GetPaymentRequest, ctx: CallContext) =>
        this.handle('getPayment', req.orderId || this.orderOf(req.paymentId), req, ctx, () => {
          const found = req.paymentId
            ? this.payments.has(req.paymentId)
              ? req.paymentId
              : undefined
            : this.forOrder(req.orderId)?.id;
          if (!found) throw new ShopError('SHOP_NOT_FOUND', 'No payment');
          return { payment: this.view(found) };
        }),
      prepareAuthorize: unsupported,
      finishPrepared: unsupported,
    };
  }

  private orderOf(paymentId: string): string {
    return this.payments.get(paymentId)?.orderId ?? paymentId;
  }

  private command<T>(key: string, ctx: CallContext, act: () => T): T {
    if (key !== ctx.idempotencyKey) throw new ShopError('SHOP_VALIDATION_FAILED', 'key and header differ');
    return remember(this.outcomes, key, act);
  }

  private authorize(req: paymentV1.AuthorizeRequest): paymentV1.AuthorizeResponse {
    const live = this.forOrder(req.orderId);
    if (live && live.status !== 'DECLINED') {
      throw new ShopError('SHOP_ALREADY_EXISTS', `Order ${req.orderId} already has a payment`);
    }
    const card = (req.card?.number ?? '').replace(/\D/g, '');
    const id = randomUUID();
    const declined =
      card === DECLINED_CARD ? 'SHOP_PAYMENT_DECLINED' : card === NO_FUNDS_CARD ? 'SHOP_INSUFFICIENT_FUNDS' : undefined;
    this.payments.set(id, {
      orderId: req.orderId,
      status: declined ? 'DECLINED' : 'AUTHORIZED',
      amount: req.amount?.amount ?? 0,
      currency: req.amount?.currency ?? 'USD',
      refunded: 0,
      card,
    });
    if (declined) throw new ShopError(declined, 'The card was declined', { paymentId: id });
    this.effects.push({ method: 'authorize', subject: req.orderId });
    return { payment: this.view(id) };
  }

  private move(method: 'capture' | 'void' | 'refund', paymentId: string) {
    const p = this.payments.get(paymentId);
    if (!p) throw new ShopError('SHOP_NOT_FOUND', `No payment ${paymentId}`);
    const rules: Record<typeof method, { from: PaymentState[]; to: PaymentState; done: PaymentState[] }> = {
      capture: { from: ['AUTHORIZED'], to: 'CAPTURED', done: ['CAPTURED'] },
      void: { from: ['AUTHORIZED'], to: 'VOIDED', done: ['VOIDED', 'DECLINED'] },
      refund: { from: ['CAPTURED'], to: 'REFUNDED', done: ['REFUNDED'] },
    };
    const rule = rules[method];
    if (rule.done.includes(p.status)) return { payment: this.view(paymentId) };
    if (!rule.from.includes(p.status)) {
      throw new ShopError('SHOP_ORDER_INVALID_STATE', `Cannot ${method} a ${p.status} payment`, { status: p.status });
    }
    p.status = rule.to;
    if (method === 'refund') p.refunded = p.amount;
    this.effects.push({ method, subject: p.orderId });
    return { payment: this.view(paymentId) };
  }

  private view(id: string): paymentV1.Payment {
    const p = this.payments.get(id)!;
    const m = (amount: number) => ({ amount, currency: p.currency });
    return {
      id,
      orderId: p.orderId,
      status: PAYMENT_STATUS[p.status],
      amount: m(p.amount),
      captured: m(p.status === 'CAPTURED' || p.status === 'REFUNDED' ? p.amount : 0),
      refunded: m(p.refunded),
      cardLast4: p.card.slice(-4),
      declineReason: p.status === 'DECLINED' ? 'declined' : '',
      createdAt: '',
      updatedAt: '',
    };
  }
}
