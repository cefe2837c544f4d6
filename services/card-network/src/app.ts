// buildApp: the card network's HTTP app (the chassis' health, readiness, metrics and fault
// switch `/admin/chaos`) with its one business route, without listening.
//
//   POST /v1/authorizations   Idempotency-Key header, {pan, expMonth, expYear, amount, currency}
//     200 {authorizationId, approved, responseCode, replayed}: a decline is an answer, not an error
//     400 a malformed request, 422 a key sent before with another request
// Slow and flaky on demand, its own fault switch (`PUT /v1/admin/faults`, CARD_NETWORK_* at start):
// a share of calls refused (503) before anything is decided, and a share decided but answered late
// — the answer a caller gives up on, whose retry the idempotency key answers with the same
// authorization. The chassis' fault rules on `POST /v1/authorizations` add latency, every call
// failing, every call held.
import { createHttpApp, type HttpApp, requireAdminToken, type ServiceKit, ShopError, sleep } from '@shoplab/chassis';
import { Counter } from 'prom-client';
import { z } from 'zod';
import type { CardNetworkConfig } from './config';
import { CardNetwork, KeyReusedError } from './network';

export interface CardNetworkApp {
  http: HttpApp;
  network: CardNetwork;
}

const requestSchema = z
  .object({
    pan: z.string().regex(/^\d{12,19}$/, 'pan: 12 to 19 digits'),
    expMonth: z.number().int().min(1).max(12),
    expYear: z.number().int().min(2000).max(2200),
    amount: z.number().int().positive(),
    currency: z.string().regex(/^[A-Z]{3}$/),
  })
  .strict();

const faultsSchema = z
  .object({
    errorRate: z.number().min(0).max(1).describe('share of calls refused with a 503 before deciding'),
    slowRate: z.number().min(0).max(1).describe('share of calls decided, then answered slowMs late'),
    slowMs: z.number().int().min(0).max(120_000),
  })
  .strict();
type Faults = z.infer<typeof faultsSchema>;

const answerSchema = z.object({
  authorizationId: z.string(),
  approved: z.boolean(),
  responseCode: z.enum(['00', '05', '51']),
  replayed: z.boolean(),
});

export async function buildApp(deps: { kit: ServiceKit<CardNetworkConfig> }): Promise<CardNetworkApp> {
  const { kit } = deps;
  const { config } = kit;
  const network = new CardNetwork(config.CARD_NETWORK_KEY_CAPACITY);
  const faults: Faults = {
    errorRate: config.CARD_NETWORK_ERROR_RATE,
    slowRate: config.CARD_NETWORK_SLOW_RATE,
    slowMs: config.CARD_NETWORK_SLOW_MS,
  };
  const http = await createHttpApp({
    ...kit.httpOptions(),
    description: 'An outside card network, simulated: authorizations with ISO 8583 response codes',
    readiness: {},
  });
  // A share of calls, spread evenly rather than drawn: at 0.3 every third or fourth call, so a
  // small exercise meets its faults every run, and a refused call's retry is not refused too.
  const seen = { refused: 0, late: 0 };
  const share = (kind: keyof typeof seen, rate: number): boolean => {
    const n = ++seen[kind];
    return Math.floor(n * rate) > Math.floor((n - 1) * rate);
  };
  const answers = new Counter({
    name: 'card_network_authorizations_total',
    help: 'Authorizations by outcome: approved, declined, replayed (the same key again), refused (a fault, nothing decided), answered_late (a fault, decided)',
    labelNames: ['outcome'],
    registers: [kit.metrics.registry],
  });

  http.post(
    '/v1/authorizations',
    {
      schema: {
        summary: 'Authorize a card for an amount (the same Idempotency-Key returns the same authorization)',
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200) }),
        body: requestSchema,
        response: { 200: answerSchema },
      },
    },
    async (request) => {
      const key = (request.headers as Record<string, string>)['idempotency-key'];
      if (config.CARD_NETWORK_LATENCY_MS > 0) await sleep(config.CARD_NETWORK_LATENCY_MS);
      if (share('refused', faults.errorRate)) {
        answers.inc({ outcome: 'refused' });
        throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'The card network is busy; nothing was decided');
      }
      try {
        const answer = network.authorize(key, request.body as z.infer<typeof requestSchema>);
        answers.inc({ outcome: answer.replayed ? 'replayed' : answer.approved ? 'approved' : 'declined' });
        if (share('late', faults.slowRate)) {
          answers.inc({ outcome: 'answered_late' });
          await sleep(faults.slowMs);
        }
        return answer;
      } catch (err) {
        if (err instanceof KeyReusedError) throw new ShopError('SHOP_IDEMPOTENCY_KEY_REUSED', err.message);
        throw err;
      }
    },
  );

  http.get(
    '/v1/admin/stats',
    {
      preHandler: requireAdminToken(config.ADMIN_TOKEN),
      schema: {
        tags: ['admin'],
        security: [{ adminToken: [] }],
        summary: 'Authorizations decided, approved, declined, and replays (a key seen again) since the start',
        response: {
          200: z.object({
            authorizations: z.number().int(),
            approved: z.number().int(),
            declined: z.number().int(),
            replays: z.number().int(),
          }),
        },
      },
    },
    async () => network.stats,
  );
  const admin = { preHandler: requireAdminToken(config.ADMIN_TOKEN) };
  const adminSchema = { tags: ['admin'], security: [{ adminToken: [] }] };
  http.get(
    '/v1/admin/faults',
    { ...admin, schema: { ...adminSchema, summary: 'The fault switch', response: { 200: faultsSchema } } },
    async () => faults,
  );
  http.put(
    '/v1/admin/faults',
    {
      ...admin,
      schema: {
        ...adminSchema,
        summary: 'Set the fault switch: a share of calls refused, a share answered late (all zero: healthy)',
        body: faultsSchema,
        response: { 200: faultsSchema },
      },
    },
    async (request) => Object.assign(faults, request.body as Faults),
  );
  return { http, network };
}
