// The typed client of the gateway's public API: paths, parameters and bodies come from the
// gateway's OpenAPI document (gateway.gen.ts), so a call the gateway does not have, or a
// field it does not send, fails `tsc` (npm run build:ui). The web service proxies /api to the
// gateway: same origin, no CORS.
import createClient, { type Middleware } from 'openapi-fetch';
import { currentSession } from '../session';
import type { components, paths } from './gateway.gen';

export const api = createClient<paths>({ baseUrl: window.location.origin });

// The shopper's token on every call that has none of its own (the control room sends the admin token).
const auth: Middleware = {
  onRequest({ request }) {
    const token = currentSession()?.token;
    if (token && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
};
api.use(auth);

type Schemas = components['schemas'];
type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer B } } };
}
  ? B
  : never;

export type Product = Ok<'/api/v1/products/{id}', 'get'>;
export type ProductPage = Ok<'/api/v1/products', 'get'>;
export type Cart = Ok<'/api/v1/cart', 'get'>;
export type Order = Ok<'/api/v1/orders/{id}', 'get'>;
export type OrderPage = Ok<'/api/v1/orders', 'get'>;
export type OrderHistory = Ok<'/api/v1/orders/history', 'get'>;
export type SagaStep = Order['timeline'][number];
export type Money = Product['price'];
export type Problem = Schemas['Problem'];

/** A problem+json answer (or a network failure) as one sentence for the page. */
export function problemText(error: unknown, response?: Response): string {
  if (error && typeof error === 'object') {
    const p = error as { detail?: string; title?: string; code?: string };
    const text = p.detail ?? p.title;
    if (text) return p.code ? `${text} (${p.code})` : text;
  }
  if (response) return `The shop answered ${response.status} ${response.statusText}`;
  return error instanceof Error ? error.message : 'The shop did not answer';
}
