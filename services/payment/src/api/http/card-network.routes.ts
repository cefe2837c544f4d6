// Admin REST: the card network switch (ADR 36) — payment asks the card network through its
// ambassador, straight with its own timeout and retries, or decides from its own table — and
// what the calls of each mode met since the process started.
import { type HttpApp, requireAdminToken } from '@shoplab/chassis';
import { z } from 'zod';
import { CARD_NETWORK_MODES } from '../../application/card-network';
import type { CardNetworkClient } from '../../infrastructure/card-network.client';

const counts = z.object({
  calls: z.number().int(),
  attempts: z.number().int(),
  retries: z.number().int(),
  errors: z.number().int(),
  unavailable: z.number().int(),
  approved: z.number().int(),
  declined: z.number().int(),
});
const stateSchema = z.object({
  mode: z.enum(CARD_NETWORK_MODES),
  counts: z.object({ ambassador: counts, direct: counts }),
});

export function registerCardNetworkRoutes(app: HttpApp, deps: { client: CardNetworkClient; adminToken: string }): void {
  const state = () => ({ mode: deps.client.mode, counts: deps.client.counts });
  const common = { preHandler: requireAdminToken(deps.adminToken) };
  app.get(
    '/v1/admin/card-network',
    {
      ...common,
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: "The card network switch and its calls' counts by mode since the start",
        response: { 200: stateSchema },
      },
    },
    async () => state(),
  );
  app.put(
    '/v1/admin/card-network',
    {
      ...common,
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary:
          "Switch who decides authorizations: ambassador (HAProxy beside payment), direct (payment retries itself), in-process (payment's own table)",
        body: z.object({ mode: z.enum(CARD_NETWORK_MODES) }).strict(),
        response: { 200: stateSchema },
      },
    },
    async (request) => {
      deps.client.mode = (request.body as { mode: (typeof CARD_NETWORK_MODES)[number] }).mode;
      return state();
    },
  );
}
