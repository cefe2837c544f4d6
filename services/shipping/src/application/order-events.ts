// What shipping does with the order service's events (topic order.events): a confirmed order
// gets a shipment, once (the consumer records the event id; the shipments table keeps one per
// order). Every other event is skipped.
import { type DomainEvent, parseEventData } from '@shoplab/chassis';
import { OrderConfirmedV1 } from '@shoplab/contracts';
import type { ShipmentStore } from './ports';
import type { Shipping } from './shipping';

export type OrderEventOutcome =
  | { kind: 'shipment'; orderId: string; shipmentId: string; backend: string }
  | { kind: 'ignored'; type: string };

export async function applyOrderEvent(
  event: DomainEvent,
  shipping: Shipping,
  store: ShipmentStore,
  parcel: { country: string; gramsPerUnit: number },
): Promise<OrderEventOutcome> {
  if (event.type !== OrderConfirmedV1.type) return { kind: 'ignored', type: event.type };
  const { orderId, lines } = parseEventData(OrderConfirmedV1, event);
  const units = lines.reduce((sum, l) => sum + l.quantity, 0);
  const weightGrams = Math.min(30_000, Math.max(1, units * parcel.gramsPerUnit));
  const shipment = await shipping.create({ orderId, destinationCountry: parcel.country, weightGrams }, store);
  return { kind: 'shipment', orderId, shipmentId: shipment.id, backend: shipment.backend };
}
