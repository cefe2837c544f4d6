// The card network's rules: which card gets which answer, and the idempotency book that makes a
// retried authorization the same authorization. Plain TypeScript, no I/O.
//
// Its own terms, not the shop's: ISO 8583 response codes ('00' approved, '05' do not honour,
// '51' insufficient funds) and authorization ids "AUTH-<n>". The test cards decline the way the
// shop's cards always have (Stripe's numbers); every other card is approved.
import { createHash } from 'node:crypto';

export type ResponseCode = '00' | '05' | '51';

export interface AuthorizationRequest {
  pan: string;
  expMonth: number;
  expYear: number;
  amount: number;
  currency: string;
}

export interface Authorization {
  authorizationId: string;
  approved: boolean;
  responseCode: ResponseCode;
  /** True when this answer is the one given before to the same idempotency key. */
  replayed: boolean;
}

const DECLINES: ReadonlyMap<string, ResponseCode> = new Map([
  ['4000000000000002', '05'],
  ['4000000000009995', '51'],
]);

export function responseCodeOf(pan: string): ResponseCode {
  return DECLINES.get(pan) ?? '00';
}

/** The key was sent before with a different request: the network refuses it. */
export class KeyReusedError extends Error {}

export interface NetworkStats {
  /** Authorizations decided (each key once). */
  authorizations: number;
  approved: number;
  declined: number;
  /** Requests answered from the book: the same key again (a retry). */
  replays: number;
}

export class CardNetwork {
  private readonly book = new Map<string, { fingerprint: string; answer: Omit<Authorization, 'replayed'> }>();
  private next = 1;
  readonly stats: NetworkStats = { authorizations: 0, approved: 0, declined: 0, replays: 0 };

  constructor(private readonly capacity: number) {}

  authorize(key: string, request: AuthorizationRequest): Authorization {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([request.pan, request.expMonth, request.expYear, request.amount, request.currency]))
      .digest('hex');
    const known = this.book.get(key);
    if (known) {
      if (known.fingerprint !== fingerprint)
        throw new KeyReusedError(`Idempotency key ${key} was used for another request`);
      this.stats.replays++;
      return { ...known.answer, replayed: true };
    }
    const responseCode = responseCodeOf(request.pan);
    const answer = { authorizationId: `AUTH-${this.next++}`, approved: responseCode === '00', responseCode };
    this.book.set(key, { fingerprint, answer });
    if (this.book.size > this.capacity) {
      const oldest = this.book.keys().next().value;
      if (oldest !== undefined) this.book.delete(oldest);
    }
    this.stats.authorizations++;
    if (answer.approved) this.stats.approved++;
    else this.stats.declined++;
    return { ...answer, replayed: false };
  }
}
