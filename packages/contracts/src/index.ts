// Generated gRPC contracts, one namespace per proto package (see proto/ and `make proto`).

/** The checkout request's card rule, shared by the gateway and the order service. */
export * from './checkout';
/** Event payload schemas (zod), one per event type and version: docs/reference.md#event-schemas. */
export * from './events';
export * as cartV1 from './gen/cart/v1/cart';
export * as catalogV1 from './gen/catalog/v1/catalog';
/** Money in integer minor units (cents) with an ISO 4217 currency code (proto/common/v1/money.proto): the one definition every service uses. */
export type { Money } from './gen/common/v1/money';
export * as commonV1 from './gen/common/v1/money';
export * as healthV1 from './gen/grpc/health/v1/health';
export * as orderV1 from './gen/order/v1/order';
export * as paymentV1 from './gen/payment/v1/payment';
export * as shippingV1 from './gen/shipping/v1/shipping';
export * as userV1 from './gen/user/v1/user';
