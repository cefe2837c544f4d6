import type { Backend, Booking, QuoteInput, QuoteView, ShipmentStatus, ShipmentView } from '../domain/shipment';

/** A stored shipment, as the implementations need it. */
export interface ShipmentRecord extends ShipmentView {
  createdAt: Date;
  cancelledAt: Date | null;
}

/** One implementation of shipping: the legacy system behind the adapter, or the native one. */
export interface ShippingBackend {
  readonly name: Backend;
  quote(input: QuoteInput): Promise<QuoteView>;
  /** Books a shipment for an order (the legacy system returns the same one for the same order). */
  book(orderId: string, input: QuoteInput): Promise<Booking>;
  /** The shipment's current status, from where it is held. */
  track(record: ShipmentRecord): Promise<ShipmentStatus>;
  cancel(record: ShipmentRecord): Promise<ShipmentStatus>;
}

export interface ShipmentStore {
  findById(id: string): Promise<ShipmentRecord | undefined>;
  findByOrder(orderId: string): Promise<ShipmentRecord | undefined>;
  /** Inserts the shipment; an order that has one already keeps the first (returned). */
  insert(shipment: Omit<ShipmentRecord, 'updatedAt' | 'createdAt' | 'cancelledAt'>): Promise<ShipmentRecord>;
  setStatus(id: string, status: ShipmentStatus): Promise<ShipmentRecord>;
}
