import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import {
  centsFromLegacyRate,
  errorFromLegacy,
  gramsToLegacyKg,
  isoFromLegacyTimestamp,
  statusFromLegacy,
} from '../../src/domain/legacy-mapping';

function soapFault(errorCode: string, faultcode = 'soap:Client'): unknown {
  return {
    root: {
      Envelope: {
        Body: { Fault: { faultcode, faultstring: 'x', detail: { ShippingFault: { ErrorCode: errorCode } } } },
      },
    },
  };
}

describe('anti-corruption layer: legacy → shop', () => {
  it('maps the two-digit statuses, and refuses an unknown one as the dependency failing', () => {
    assert.equal(statusFromLegacy('10'), 'BOOKED');
    assert.equal(statusFromLegacy('20'), 'IN_TRANSIT');
    assert.equal(statusFromLegacy('30'), 'DELIVERED');
    assert.equal(statusFromLegacy('90'), 'CANCELLED');
    assert.throws(
      () => statusFromLegacy('55'),
      (e) => e instanceof ShopError && e.code === 'SHOP_DEPENDENCY_UNAVAILABLE',
    );
  });

  it('translates units: grams to decimal kilograms, decimal rates to cents exactly, legacy timestamps to ISO', () => {
    assert.equal(gramsToLegacyKg(1200), '1.200');
    assert.equal(gramsToLegacyKg(7), '0.007');
    assert.deepEqual(centsFromLegacyRate('18.99', 'USD'), { amount: 1899, currency: 'USD' });
    assert.deepEqual(centsFromLegacyRate('7.5', 'USD'), { amount: 750, currency: 'USD' });
    assert.deepEqual(centsFromLegacyRate('12', ''), { amount: 1200, currency: 'USD' });
    assert.throws(() => centsFromLegacyRate('1,50', 'USD'), ShopError);
    assert.equal(isoFromLegacyTimestamp('20261205171322'), '2026-12-05T17:13:22.000Z');
  });

  it('maps SOAP faults to stable codes, keeping the legacy code as a detail', () => {
    const cases: [string, string][] = [
      ['E100', 'SHOP_VALIDATION_FAILED'],
      ['E101', 'SHOP_SHIPPING_DESTINATION_UNSUPPORTED'],
      ['E102', 'SHOP_VALIDATION_FAILED'],
      ['E200', 'SHOP_NOT_FOUND'],
      ['E300', 'SHOP_SHIPMENT_NOT_CANCELLABLE'],
    ];
    for (const [legacy, code] of cases) {
      const err = errorFromLegacy(soapFault(legacy));
      assert.equal(err.code, code, legacy);
      assert.equal(err.details?.legacyCode, legacy);
    }
  });

  it('treats an unknown fault code, a server fault or no answer as the legacy system failing', () => {
    assert.equal(errorFromLegacy(soapFault('E999')).code, 'SHOP_DEPENDENCY_UNAVAILABLE');
    assert.equal(errorFromLegacy(new Error('connect ECONNREFUSED 127.0.0.1:8089')).code, 'SHOP_DEPENDENCY_UNAVAILABLE');
    const kept = new ShopError('SHOP_NOT_FOUND');
    assert.equal(errorFromLegacy(kept), kept);
  });
});
