// Every event contract in one list: what a check over all of them reads (which events carry
// personal data, that no two share a type).
import { ProductCreatedV1, StockRefusedV1, stockEventsV1 } from './catalog';
import type { EventContract } from './contract';
import { OrderCancelledV1, OrderConfirmedV1, OrderCreatedV1 } from './order';
import { paymentEventsV1 } from './payment';
import { UserAddressAddedV1, UserRegisteredV1 } from './user';

export const eventContracts: readonly EventContract[] = Object.freeze([
  ProductCreatedV1,
  ...Object.values(stockEventsV1),
  StockRefusedV1,
  OrderCreatedV1,
  OrderConfirmedV1,
  OrderCancelledV1,
  ...Object.values(paymentEventsV1),
  UserRegisteredV1,
  UserAddressAddedV1,
]);
