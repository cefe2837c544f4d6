// Fetches what the audit judges from the services' own admin endpoints (no gateway in
// between). The caller says where each service is: the `shopctl audit` command its local ports
// (packages/shopctl/src/api.ts, localBaseUrl), the gateway's `/api/v1/admin/audit` its
// registry's addresses.
import type { z } from 'zod';
import {
  type AuditData,
  auditedOrdersSchema,
  clearancesSchema,
  consumersReportSchema,
  type MessagingReport,
  outboxReportSchema,
  paymentSummarySchema,
  reservationStatusesSchema,
  SERVICES,
  type Service,
  stockReportSchema,
} from './audit';
import { messageOf } from './error-text';

export interface CollectOptions {
  /** `http://host:port` of one instance of the service. */
  baseUrl: (service: Service) => string | Promise<string>;
  adminToken: string;
  /** Per request (default 5 s). */
  timeoutMs?: number;
}

/** A required admin endpoint did not answer as expected: the audit cannot judge. */
export class CollectError extends Error {
  override readonly name = 'CollectError';
}

interface Answer {
  status: number;
  body: unknown;
}

export async function collectAuditData(options: CollectOptions): Promise<AuditData> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const get = async (service: Service, path: string): Promise<Answer> => {
    const url = `${await options.baseUrl(service)}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: `Bearer ${options.adminToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new CollectError(`${service}: GET ${url} failed: ${messageOf(err)}`);
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body };
  };
  const required = async <S extends z.ZodType>(service: Service, path: string, schema: S): Promise<z.infer<S>> => {
    const answer = await get(service, path);
    if (answer.status !== 200) {
      throw new CollectError(`${service}: GET ${path} answered ${answer.status}: ${summarize(answer.body)}`);
    }
    const parsed = schema.safeParse(answer.body);
    if (!parsed.success) throw new CollectError(`${service}: GET ${path} answered an unexpected body: ${parsed.error}`);
    return parsed.data;
  };

  // The cart's clearances first: read before the orders, none of them can name an order the
  // order list (read after) does not have yet.
  const clearances = await get('cart', '/v1/admin/clearances');
  const [orders, payments, stock, messaging] = await Promise.all([
    required('order', '/v1/admin/orders/audit', auditedOrdersSchema),
    required('payment', '/v1/admin/payments/summary', paymentSummarySchema),
    required('catalog', '/v1/admin/stock', stockReportSchema),
    Promise.all(SERVICES.map((service) => messagingOf(service, get))),
  ]);
  let cleared: AuditData['clearances'];
  if (clearances.status === 200) {
    const parsed = clearancesSchema.safeParse(clearances.body);
    if (!parsed.success) throw new CollectError(`cart: GET /v1/admin/clearances answered an unexpected body`);
    cleared = parsed.data.clearances;
  } else if (clearances.status !== 404) {
    throw new CollectError(
      `cart: GET /v1/admin/clearances answered ${clearances.status}: ${summarize(clearances.body)}`,
    );
  }

  // Every reservation's status in one read (one request per ended order grew with the shop:
  // minutes for some ten thousand orders), read after the orders: an ended order's reservation
  // was settled before its order ended, so none of them can be missing for want of time.
  const { statuses } = await required('catalog', '/v1/admin/reservations', reservationStatusesSchema);
  const reservations: Record<string, string | null> = {};
  for (const o of orders.orders) {
    if (o.status !== 'PENDING') reservations[o.id] = statuses[o.id] ?? null;
  }

  return {
    orders: orders.orders,
    payments,
    stock,
    reservations,
    messaging,
    ...(cleared ? { clearances: cleared } : {}),
  };
}

/** A service's outbox and consumers; a 404 (no such endpoint) is a note, other failures an error. */
async function messagingOf(
  service: Service,
  get: (service: Service, path: string) => Promise<Answer>,
): Promise<MessagingReport> {
  try {
    const outbox = await get(service, '/admin/outbox');
    if (outbox.status === 404) return { service, note: 'no /admin/outbox' };
    if (outbox.status !== 200) return { service, error: `/admin/outbox answered ${outbox.status}` };
    const parsedOutbox = outboxReportSchema.safeParse(outbox.body);
    if (!parsedOutbox.success) return { service, error: `/admin/outbox answered an unexpected body` };
    const consumers = await get(service, '/admin/consumers');
    if (consumers.status === 404) return { service, outbox: parsedOutbox.data };
    const parsedConsumers = consumersReportSchema.safeParse(consumers.body);
    if (consumers.status !== 200 || !parsedConsumers.success) {
      return { service, outbox: parsedOutbox.data, error: `/admin/consumers answered ${consumers.status}` };
    }
    return { service, outbox: parsedOutbox.data, consumers: parsedConsumers.data };
  } catch (err) {
    return { service, error: messageOf(err) };
  }
}

function summarize(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return (text ?? '').slice(0, 300);
}
