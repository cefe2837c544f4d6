// buildApp: the legacy shipping system's HTTP app (the chassis' health, readiness and metrics
// routes) with the SOAP endpoint attached to the same server, without listening.
import { createHttpApp, type HttpApp, type ServiceKit } from '@shoplab/chassis';
import { Counter } from 'prom-client';
import type { LegacyShippingConfig } from './config';
import { ConsignmentBook } from './consignments';
import { attachSoapEndpoint } from './soap-server';
import { SOAP_PATH } from './wsdl';

export interface LegacyShippingApp {
  http: HttpApp;
  book: ConsignmentBook;
}

export async function buildApp(deps: { kit: ServiceKit<LegacyShippingConfig> }): Promise<LegacyShippingApp> {
  const { kit } = deps;
  const { config } = kit;
  const book = new ConsignmentBook({
    transitAfterMs: config.LEGACY_TRANSIT_AFTER_MS,
    deliverAfterMs: config.LEGACY_DELIVER_AFTER_MS,
    capacity: config.LEGACY_BOOK_CAPACITY,
  });
  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: `Legacy shipping system: SOAP 1.1 at ${SOAP_PATH} (WSDL at ${SOAP_PATH}?wsdl); this API has only the chassis' routes`,
    readiness: {},
  });
  const calls = new Counter({
    name: 'legacy_shipping_soap_calls_total',
    help: 'SOAP operations answered, by operation and outcome (ok or fault)',
    labelNames: ['operation', 'outcome'],
    registers: [kit.metrics.registry],
  });
  attachSoapEndpoint(http.server, {
    book,
    latencyMs: () => config.LEGACY_LATENCY_MS,
    location: `http://${config.ADVERTISE_HOST}:${config.HTTP_PORT}${SOAP_PATH}`,
    onCall: (operation, outcome) => calls.inc({ operation, outcome }),
  });
  return { http, book };
}
