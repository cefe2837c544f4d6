// The card network's HTTP client. Which way it goes is a runtime switch (ADR 36):
//   ambassador  one call to the ambassador on 127.0.0.1 (HAProxy beside payment), which owns the
//               timeout, the retries and the circuit for the card network; payment only bounds
//               the whole with a generous timeout
//   direct      straight at the card network, with payment's own timeout and retries (the before)
//   in-process  no call: payment's own table decides (the tests of payment that are not about it)
// Retries, in-process or in the ambassador, are safe because every call carries the command's
// idempotency key: the network answers a key it has seen with its first answer.
import { ShopError, sleep } from '@shoplab/chassis';
import { Counter, type Registry } from 'prom-client';
import type { CardAuthorizationRequest, CardNetworkMode, CardNetworkPort } from '../application/card-network';
import type { CardDecision } from '../domain/card';

export interface CardNetworkClientOptions {
  mode: CardNetworkMode;
  ambassadorUrl: string;
  directUrl: string;
  /** Bound of one call through the ambassador (its own retries fit inside). */
  ambassadorTimeoutMs: number;
  /** Direct mode: the bound of one attempt, the retries after a failed one, the pause between. */
  directTimeoutMs: number;
  directRetries: number;
  directBackoffMs?: number;
  registry?: Registry;
  fetch?: typeof fetch;
}

/** Counts per mode since the process started (GET /v1/admin/card-network). */
export interface CardNetworkCounts {
  calls: number;
  attempts: number;
  retries: number;
  /** Attempts that failed: no answer in time, a connection error, a 5xx. */
  errors: number;
  /** Calls that gave up: SHOP_DEPENDENCY_UNAVAILABLE to the command. */
  unavailable: number;
  approved: number;
  declined: number;
}

const emptyCounts = (): CardNetworkCounts => ({
  calls: 0,
  attempts: 0,
  retries: 0,
  errors: 0,
  unavailable: 0,
  approved: 0,
  declined: 0,
});

interface NetworkAnswer {
  approved: boolean;
  responseCode: string;
}

/** The network's ISO 8583 code in the shop's terms: 51 is insufficient funds, any other no is a decline. */
export function decisionOf(answer: NetworkAnswer): CardDecision {
  if (answer.approved) return { outcome: 'approved' };
  if (answer.responseCode === '51') {
    return { outcome: 'declined', code: 'SHOP_INSUFFICIENT_FUNDS', reason: 'insufficient_funds' };
  }
  return { outcome: 'declined', code: 'SHOP_PAYMENT_DECLINED', reason: 'card_declined' };
}

export class CardNetworkClient implements CardNetworkPort {
  mode: CardNetworkMode;
  readonly counts: Record<Exclude<CardNetworkMode, 'in-process'>, CardNetworkCounts> = {
    ambassador: emptyCounts(),
    direct: emptyCounts(),
  };
  private readonly fetch: typeof fetch;
  private readonly metric?: Counter<'mode' | 'event'>;

  constructor(private readonly options: CardNetworkClientOptions) {
    this.mode = options.mode;
    this.fetch = options.fetch ?? fetch;
    if (options.registry) {
      this.metric = new Counter({
        name: 'payment_card_network_calls_total',
        help: 'Card network calls by mode (ambassador, direct) and event (call, attempt, retry, error, unavailable, approved, declined)',
        labelNames: ['mode', 'event'],
        registers: [options.registry],
      });
    }
  }

  async decide(request: CardAuthorizationRequest, local: CardDecision, signal?: AbortSignal): Promise<CardDecision> {
    const mode = this.mode;
    if (mode === 'in-process') return local;
    const direct = mode === 'direct';
    const url = `${direct ? this.options.directUrl : this.options.ambassadorUrl}/v1/authorizations`;
    const timeoutMs = direct ? this.options.directTimeoutMs : this.options.ambassadorTimeoutMs;
    const attempts = direct ? 1 + this.options.directRetries : 1;
    const count = (event: keyof CardNetworkCounts) => {
      this.counts[mode][event]++;
      this.metric?.inc({ mode, event });
    };
    const body = JSON.stringify({
      pan: request.pan,
      expMonth: request.expMonth,
      expYear: request.expYear,
      amount: request.amount.amount,
      currency: request.amount.currency,
    });
    count('calls');
    let lastFailure = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        count('retries');
        await sleep(this.options.directBackoffMs ?? 50, signal);
      }
      if (signal?.aborted) break;
      count('attempts');
      const bound = AbortSignal.timeout(timeoutMs);
      try {
        const res = await this.fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey },
          body,
          signal: signal ? AbortSignal.any([signal, bound]) : bound,
        });
        const text = await res.text();
        if (res.status === 200) {
          const decision = decisionOf(JSON.parse(text) as NetworkAnswer);
          count(decision.outcome);
          return decision;
        }
        if (res.status < 500) {
          // The network refused the request itself (it never does for a card payment validated):
          // a decline the saga records, not a failure to retry.
          count('declined');
          return { outcome: 'declined', code: 'SHOP_PAYMENT_DECLINED', reason: `network_rejected_${res.status}` };
        }
        lastFailure = `HTTP ${res.status}`;
      } catch (err) {
        lastFailure = bound.aborted ? `no answer in ${timeoutMs} ms` : err instanceof Error ? err.message : String(err);
      }
      count('errors');
    }
    count('unavailable');
    throw new ShopError(
      'SHOP_DEPENDENCY_UNAVAILABLE',
      'The card network did not answer; nothing was recorded. Retry with the same idempotency key.',
      { dependency: 'card-network', mode, failure: lastFailure },
    );
  }
}
