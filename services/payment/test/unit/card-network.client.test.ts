// Payment's card network client against a scripted fetch: which mode calls where, how often,
// with which key; how the network's codes become the shop's; when it gives up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import type { CardAuthorizationRequest } from '../../src/application/card-network';
import type { CardDecision } from '../../src/domain/card';
import {
  CardNetworkClient,
  type CardNetworkClientOptions,
  decisionOf,
} from '../../src/infrastructure/card-network.client';

const request: CardAuthorizationRequest = {
  idempotencyKey: 'order-1:authorize',
  pan: '4242424242424242',
  expMonth: 12,
  expYear: 2030,
  amount: { amount: 1999, currency: 'USD' },
};
const local: CardDecision = { outcome: 'approved' };
const approved = () => new Response(JSON.stringify({ approved: true, responseCode: '00', authorizationId: 'AUTH-1' }));

type Step = 'approve' | 503 | 400 | 'hang' | 'refuse';

/** A fetch that answers each call with the next step, and records the calls. */
function scripted(steps: Step[]) {
  const calls: { url: string; key: string }[] = [];
  const fetchFn = (async (url: string, init: RequestInit) => {
    calls.push({ url, key: (init.headers as Record<string, string>)['idempotency-key'] });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (step === 'approve') return approved();
    if (step === 'refuse') throw new TypeError('fetch failed (connection refused)');
    if (step === 'hang') {
      // A held call keeps the process alive the way an open socket does (AbortSignal.timeout is unref'd).
      const alive = setTimeout(() => {}, 10_000);
      return new Promise<Response>((_, reject) => {
        init.signal?.addEventListener('abort', () => {
          clearTimeout(alive);
          reject(init.signal?.reason);
        });
      });
    }
    return new Response('{}', { status: step });
  }) as unknown as typeof fetch;
  return { calls, fetchFn };
}

function client(mode: CardNetworkClientOptions['mode'], fetchFn: typeof fetch) {
  return new CardNetworkClient({
    mode,
    ambassadorUrl: 'http://ambassador',
    directUrl: 'http://network',
    ambassadorTimeoutMs: 200,
    directTimeoutMs: 50,
    directRetries: 2,
    directBackoffMs: 1,
    fetch: fetchFn,
  });
}

describe("payment's card network client", () => {
  it('maps the network codes: 00 approved, 51 insufficient funds, any other no declined', () => {
    assert.deepEqual(decisionOf({ approved: true, responseCode: '00' }), { outcome: 'approved' });
    assert.equal(
      (decisionOf({ approved: false, responseCode: '51' }) as { code: string }).code,
      'SHOP_INSUFFICIENT_FUNDS',
    );
    assert.equal(
      (decisionOf({ approved: false, responseCode: '05' }) as { code: string }).code,
      'SHOP_PAYMENT_DECLINED',
    );
  });

  it('in-process: no call, its own table decides', async () => {
    const { calls, fetchFn } = scripted(['approve']);
    const declined: CardDecision = { outcome: 'declined', code: 'SHOP_PAYMENT_DECLINED', reason: 'card_declined' };
    assert.deepEqual(await client('in-process', fetchFn).decide(request, declined), declined);
    assert.equal(calls.length, 0);
  });

  it('direct: retries a 503 and a hang with the same idempotency key, then has the answer', async () => {
    const { calls, fetchFn } = scripted([503, 'hang', 'approve']);
    const c = client('direct', fetchFn);
    assert.deepEqual(await c.decide(request, local), { outcome: 'approved' });
    assert.deepEqual(
      calls.map((x) => [x.url, x.key]),
      Array(3).fill(['http://network/v1/authorizations', request.idempotencyKey]),
    );
    assert.deepEqual(c.counts.direct, {
      calls: 1,
      attempts: 3,
      retries: 2,
      errors: 2,
      unavailable: 0,
      approved: 1,
      declined: 0,
    });
  });

  it('direct: gives up after its retries with SHOP_DEPENDENCY_UNAVAILABLE (UNAVAILABLE to order, never INTERNAL)', async () => {
    const { calls, fetchFn } = scripted(['refuse']);
    const c = client('direct', fetchFn);
    await assert.rejects(c.decide(request, local), (err: unknown) => {
      assert.ok(err instanceof ShopError);
      assert.equal(err.code, 'SHOP_DEPENDENCY_UNAVAILABLE');
      assert.equal(err.grpcStatus, 14);
      return true;
    });
    assert.equal(calls.length, 3);
    assert.equal(c.counts.direct.unavailable, 1);
  });

  it('ambassador: one call to the ambassador, no retry of its own', async () => {
    const { calls, fetchFn } = scripted([503, 'approve']);
    const c = client('ambassador', fetchFn);
    await assert.rejects(c.decide(request, local), /card network did not answer/);
    assert.deepEqual(
      calls.map((x) => x.url),
      ['http://ambassador/v1/authorizations'],
    );
    assert.equal(c.counts.ambassador.retries, 0);
  });

  it('a 4xx from the network is a decline recorded, not a failure retried', async () => {
    const { calls, fetchFn } = scripted([400]);
    const decision = await client('direct', fetchFn).decide(request, local);
    assert.deepEqual(decision, { outcome: 'declined', code: 'SHOP_PAYMENT_DECLINED', reason: 'network_rejected_400' });
    assert.equal(calls.length, 1);
  });

  it('follows the switch at runtime', async () => {
    const { calls, fetchFn } = scripted(['approve']);
    const c = client('ambassador', fetchFn);
    await c.decide(request, local);
    c.mode = 'direct';
    await c.decide(request, local);
    assert.deepEqual(
      calls.map((x) => x.url),
      ['http://ambassador/v1/authorizations', 'http://network/v1/authorizations'],
    );
  });
});
