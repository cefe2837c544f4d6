// The legacy system over real SOAP: its WSDL loaded by a generic SOAP client (the soap
// package's), operations called, faults as SOAP 1.1 faults with the ShippingFault detail.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServiceKit, loadConfig } from '@shoplab/chassis';
import * as soap from 'soap';
import { buildApp, type LegacyShippingApp } from '../../src/app';
import { configSchema } from '../../src/config';
import { SOAP_PATH } from '../../src/wsdl';

interface SoapFaultError {
  response?: { status: number };
  root?: { Envelope: { Body: { Fault: { faultcode: string; detail: { ShippingFault: { ErrorCode: string } } } } } };
}

let app: LegacyShippingApp;
let endpoint: string;

before(async () => {
  const config = loadConfig(configSchema, {
    ADMIN_TOKEN: 'test-admin-token-0123456789',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HTTP_PORT: '0',
    OTEL_SDK_DISABLED: 'true',
    LEGACY_LATENCY_MS: '5',
  });
  app = await buildApp({ kit: createServiceKit(config) });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}${SOAP_PATH}`;
});

after(async () => {
  await app.http.close();
});

async function client(): Promise<soap.Client> {
  return soap.createClientAsync(`${endpoint}?wsdl`, {}, endpoint);
}

describe('legacy shipping over SOAP', () => {
  it('publishes a WSDL a SOAP client loads, with the four operations', async () => {
    const c = await client();
    const ops = Object.keys(c.describe().ShippingService.ShippingPort).sort();
    assert.deepEqual(ops, ['BookConsignment', 'CancelConsignment', 'GetQuote', 'TrackConsignment']);
  });

  it('quotes, books, tracks and cancels', async () => {
    const c = await client();
    const [q] = await c.GetQuoteAsync({ DestCountry: 'CA', WeightKg: '2.5' });
    assert.deepEqual(q, { Rate: '18.99', CurrencyCode: 'USD', TransitDays: 5 });
    const [booked] = await c.BookConsignmentAsync({ CustomerRef: 'it-order-1', DestCountry: 'CA', WeightKg: '2.5' });
    assert.match(booked.Consignment.ConsignmentNo, /^SHP-\d{6,}$/);
    assert.equal(booked.Consignment.StatusCode, '10');
    const [tracked] = await c.TrackConsignmentAsync({ ConsignmentNo: booked.Consignment.ConsignmentNo });
    assert.equal(tracked.Consignment.StatusText, 'BOOKED');
    const [cancelled] = await c.CancelConsignmentAsync({ ConsignmentNo: booked.Consignment.ConsignmentNo });
    assert.equal(cancelled.Consignment.StatusCode, '90');
  });

  it('answers bad input with a SOAP fault carrying the legacy error code', async () => {
    const c = await client();
    await assert.rejects(c.GetQuoteAsync({ DestCountry: 'ZZ', WeightKg: '1' }), (err: unknown) => {
      const e = err as SoapFaultError;
      assert.equal(e.response?.status, 500);
      const fault = e.root?.Envelope.Body.Fault;
      assert.equal(fault?.faultcode, 'soap:Client');
      assert.equal(fault?.detail.ShippingFault.ErrorCode, 'E101');
      return true;
    });
    await assert.rejects(c.TrackConsignmentAsync({ ConsignmentNo: 'SHP-000001' }), (err: unknown) => {
      const e = err as SoapFaultError;
      assert.equal(e.root?.Envelope.Body.Fault.detail.ShippingFault.ErrorCode, 'E200');
      return true;
    });
  });

  it('keeps the chassis routes beside the SOAP endpoint', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200);
  });
});
