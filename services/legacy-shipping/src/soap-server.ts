// The SOAP endpoint: the `soap` package's server on the HTTP server fastify already owns
// (requests to SOAP_PATH go to the SOAP stack, every other path to fastify). The WSDL is
// served at `SOAP_PATH?wsdl`.
import type { Server as HttpServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as soap from 'soap';
import { type ConsignmentBook, LEGACY_ERRORS, LegacyFault, quote } from './consignments';
import { SOAP_PATH, shippingWsdl } from './wsdl';

export interface SoapEndpointOptions {
  book: ConsignmentBook;
  latencyMs: () => number;
  /** The address written into the WSDL's soap:address. */
  location: string;
  onCall?: (operation: string, outcome: 'ok' | 'fault') => void;
}

/** What the soap package turns into a SOAP 1.1 Fault with a ShippingFault detail (HTTP 500). */
function soapFault(err: LegacyFault): { Fault: Record<string, unknown> } {
  return {
    Fault: {
      faultcode: err.faultCode,
      faultstring: err.message,
      detail: { ShippingFault: { ErrorCode: err.errorCode, ErrorText: LEGACY_ERRORS[err.errorCode] } },
      statusCode: 500,
    },
  };
}

export function attachSoapEndpoint(server: HttpServer, options: SoapEndpointOptions): soap.Server {
  const operation =
    <T>(name: string, run: (args: Record<string, unknown>) => T) =>
    async (args: Record<string, unknown>): Promise<T> => {
      await sleep(options.latencyMs());
      try {
        const result = run(args ?? {});
        options.onCall?.(name, 'ok');
        return result;
      } catch (err) {
        if (err instanceof LegacyFault) {
          options.onCall?.(name, 'fault');
          throw soapFault(err);
        }
        throw err;
      }
    };
  const services = {
    ShippingService: {
      ShippingPort: {
        GetQuote: operation('GetQuote', (args) => quote(args)),
        BookConsignment: operation('BookConsignment', (args) => ({ Consignment: options.book.book(args) })),
        TrackConsignment: operation('TrackConsignment', (args) => ({ Consignment: options.book.track(args) })),
        CancelConsignment: operation('CancelConsignment', (args) => ({ Consignment: options.book.cancel(args) })),
      },
    },
  };
  return soap.listen(server, {
    path: SOAP_PATH,
    services,
    xml: shippingWsdl(options.location),
    suppressStack: true,
  });
}
