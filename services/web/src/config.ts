import { baseConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

export const configSchema = baseConfigSchema.extend({
  SERVICE_NAME: z.string().default('web'),
  HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8088),
  /** Where the public API is: `/api/*` (the order events stream included) is proxied there. */
  GATEWAY_URL: z.url().default('http://127.0.0.1:8080'),
  /**
   * The gateway's admin listener: its `/api/v1/admin/*` (the control room's calls, and the
   * browser's proxied here) answer there only (docs/architecture.md#trust-boundaries). Unset:
   * GATEWAY_URL, a gateway without ADMIN_PORT.
   */
  GATEWAY_ADMIN_URL: z.url().optional(),
  /**
   * The services' admin listeners the control room's switches call, by shopctl's names (outbox
   * relay and publish mode, checkout mode, the card network's path, the shipping strangler). Unset:
   * shopctl's defaults, the native stack's (127.0.0.1:7081 …; packages/shopctl/src/api.ts).
   */
  SHOPLAB_USER_ADMIN_URL: z.url().optional(),
  SHOPLAB_CATALOG_ADMIN_URL: z.url().optional(),
  SHOPLAB_CART_ADMIN_URL: z.url().optional(),
  SHOPLAB_PAYMENT_ADMIN_URL: z.url().optional(),
  SHOPLAB_ORDER_ADMIN_URL: z.url().optional(),
  SHOPLAB_SHIPPING_ADMIN_URL: z.url().optional(),
  /**
   * Jaeger's query API: the control room draws an order's trace from it (`/jaeger/api/*`, proxied
   * behind the admin token, reads only).
   */
  JAEGER_URL: z.url().default('http://127.0.0.1:16686'),
  /**
   * Prometheus' query API: the control room's live charts are named range queries this service
   * runs there (`/control/charts/*`, behind the admin token; src/charts.ts).
   */
  PROMETHEUS_URL: z.url().default('http://127.0.0.1:9090'),
  /**
   * The services the gateway's registry view leaves out (it lists the five backing services),
   * besides the gateway itself (at GATEWAY_URL), as `name=url,…`: the control room's service
   * map asks each one's /readyz. Defaults to the native stack's ports (infra/local/services.sh);
   * `none` where the web service may not reach them (kind's network policies).
   */
  MAP_SERVICES: z
    .string()
    .default('history=http://127.0.0.1:8086,shipping=http://127.0.0.1:8087,legacy-shipping=http://127.0.0.1:8089')
    .transform((list, ctx) => {
      if (list.trim() === 'none') return [];
      const entries = list
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean)
        .map((e) => e.split('=') as [string, string?]);
      for (const [name, url] of entries) {
        if (!url || !URL.canParse(url))
          ctx.addIssue({ code: 'custom', message: `'${name}' needs name=http://host:port` });
      }
      return entries.map(([name, url]) => ({ name, url: (url ?? '').replace(/\/+$/, '') }));
    }),
  /** The built storefront (`npm run -w services/web build:ui` writes it to dist/ui). */
  UI_DIR: z.string().optional(),
  /**
   * Longest silence on a proxied answer before it is given up: above the gateway's SSE
   * heartbeat (15 s), so an order's event stream stays open while the saga runs.
   */
  PROXY_BODY_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
});

export type WebConfig = z.infer<typeof configSchema>;
