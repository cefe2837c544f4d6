import * as grpc from '@grpc/grpc-js';
import {
  codeForGrpcStatus,
  createGrpcClient,
  currentServiceCredential,
  type GrpcClient,
  getOrCreate,
  grpcAddressOf,
  grpcStatusName,
  isErrorCode,
  RoundRobin,
  SERVICE_TOKEN_METADATA,
  type ServiceRegistry,
  SHOP_CALLER_METADATA,
  SHOP_CODE_METADATA,
  ShopError,
  userTokenMetadata,
} from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import { Counter, type Registry } from 'prom-client';
import { CALLER, type DownstreamClientSettings, READ_RETRY_BACKOFF } from './grpc-deps';

export type OrderClient = GrpcClient<typeof orderV1.OrderServiceService>;

/** order.v1.OrderService: orders and their saga timeline. The gateway only reads; its read methods are retried. */
export function createOrderClient(settings: DownstreamClientSettings): OrderClient {
  return createGrpcClient(
    orderV1.OrderServiceClient,
    {
      caller: CALLER,
      target: 'order',
      registry: settings.registry,
      deadlineMs: settings.deadlineMs,
      retry: { idempotentMethods: ['getOrder', 'listOrders'], retries: settings.retries, ...READ_RETRY_BACKOFF },
      ...(settings.breaker ? { breaker: settings.breaker } : {}),
    },
    settings.deps,
  );
}

/**
 * order.v1.OrderService/WatchOrder, the one streaming call of the gateway: a long-lived call to
 * one order instance (round robin over the registry's list), outside the unary client's breaker
 * and retries — a stream that ends early is not a failure, the caller reads the order again
 * and watches once more. Errors carry the server's ShopError code (NOT_FOUND stays a 404).
 */
export class OrderWatchClient {
  private readonly channels = new Map<string, orderV1.OrderServiceClient>();
  private readonly roundRobin = new RoundRobin();
  private readonly opened: Counter;

  constructor(
    private readonly registry: ServiceRegistry,
    metrics: Registry,
  ) {
    const registers = [metrics];
    this.opened = getOrCreate(
      metrics,
      'shop_gateway_order_watches_total',
      () =>
        new Counter({
          name: 'shop_gateway_order_watches_total',
          help: 'WatchOrder streams opened to order',
          registers,
        }),
    );
  }

  /** The order after each change until it ends, the stream's deadline passes, or `signal` aborts. */
  async *watch(
    request: orderV1.WatchOrderRequest,
    options: { deadlineMs: number; signal: AbortSignal; authorization?: string },
  ): AsyncGenerator<orderV1.Order> {
    const instances = await this.registry.instances('order');
    if (instances.length === 0) {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'no instance of order is known', { target: 'order' });
    }
    const address = grpcAddressOf(this.roundRobin.next('order', instances));
    let client = this.channels.get(address);
    if (!client) {
      client = new orderV1.OrderServiceClient(address, grpc.credentials.createInsecure());
      this.channels.set(address, client);
    }
    const metadata = new grpc.Metadata();
    metadata.set(SHOP_CALLER_METADATA, CALLER);
    // The credentials a unary call carries (grpc-client.ts): the gateway's, and its user's token.
    const credential = currentServiceCredential();
    if (credential) metadata.set(SERVICE_TOKEN_METADATA, credential.tokenFor('order'));
    for (const [k, v] of Object.entries(options.authorization ? userTokenMetadata(options.authorization) : {})) {
      metadata.set(k, v);
    }
    this.opened.inc();
    const call = client.watchOrder(request, metadata, { deadline: new Date(Date.now() + options.deadlineMs) });
    const cancel = () => call.cancel();
    options.signal.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of call as AsyncIterable<orderV1.WatchOrderResponse>) {
        if (message.order) yield message.order;
      }
    } catch (err) {
      if (options.signal.aborted) return;
      throw toShopError(err as grpc.ServiceError);
    } finally {
      options.signal.removeEventListener('abort', cancel);
      // A consumer that stopped reading early (the order ended, the client left) ends the call.
      call.cancel();
    }
  }

  close(): void {
    for (const client of this.channels.values()) client.close();
    this.channels.clear();
  }
}

function toShopError(err: grpc.ServiceError): ShopError {
  const shopCode = err.metadata?.get(SHOP_CODE_METADATA)[0];
  const code = typeof shopCode === 'string' && isErrorCode(shopCode) ? shopCode : codeForGrpcStatus(err.code);
  return new ShopError(code, err.details || `order WatchOrder failed with ${grpcStatusName(err.code)}`, {
    target: 'order',
  });
}
