import { createGrpcClient, type GrpcClient } from '@shoplab/chassis';
import { paymentV1 } from '@shoplab/contracts';
import { CALLER, type DownstreamClientSettings, READ_RETRY_BACKOFF } from './grpc-deps';

export type PaymentClient = GrpcClient<typeof paymentV1.PaymentServiceService>;

/** payment.v1.PaymentService: the payment of an order. The gateway only reads; its read methods are retried. */
export function createPaymentClient(settings: DownstreamClientSettings): PaymentClient {
  return createGrpcClient(
    paymentV1.PaymentServiceClient,
    {
      caller: CALLER,
      target: 'payment',
      registry: settings.registry,
      deadlineMs: settings.deadlineMs,
      retry: { idempotentMethods: ['getPayment'], retries: settings.retries, ...READ_RETRY_BACKOFF },
      ...(settings.breaker ? { breaker: settings.breaker } : {}),
    },
    settings.deps,
  );
}
