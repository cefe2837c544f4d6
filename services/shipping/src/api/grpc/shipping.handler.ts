// shipping.v1.ShippingService: thin adapters over the use cases.
import type { ServiceImplementation } from '@shoplab/chassis';
import { shippingV1 } from '@shoplab/contracts';
import type { Shipping } from '../../application/shipping';
import type { ShipmentStatus, ShipmentView } from '../../domain/shipment';

const STATUS: Record<ShipmentStatus, shippingV1.ShipmentStatus> = {
  BOOKED: shippingV1.ShipmentStatus.SHIPMENT_STATUS_BOOKED,
  IN_TRANSIT: shippingV1.ShipmentStatus.SHIPMENT_STATUS_IN_TRANSIT,
  DELIVERED: shippingV1.ShipmentStatus.SHIPMENT_STATUS_DELIVERED,
  CANCELLED: shippingV1.ShipmentStatus.SHIPMENT_STATUS_CANCELLED,
};

export function toProto(s: ShipmentView): shippingV1.Shipment {
  return { ...s, status: STATUS[s.status] };
}

export function shippingHandlers(shipping: Shipping): ServiceImplementation<typeof shippingV1.ShippingServiceService> {
  return {
    quote: async (req) => {
      const { price, transitDays } = await shipping.quote(req);
      return { price, transitDays };
    },
    createShipment: async (req) => ({ shipment: toProto(await shipping.create(req)) }),
    trackShipment: async (req) => ({ shipment: toProto(await shipping.track(req)) }),
    cancelShipment: async (req) => ({ shipment: toProto(await shipping.cancel(req)) }),
  };
}
