// The port to the card network: who decides a validated card's authorization. `in-process` is
// payment's own table (domain/card.ts, the simulated processor of before); `ambassador` and
// `direct` ask the outside card network (services/card-network), through the ambassador beside
// payment or straight, with payment's own timeout and retries (docs/patterns/ambassador.md).
import type { Money } from '@shoplab/contracts';
import type { CardDecision } from '../domain/card';

export const CARD_NETWORK_MODES = ['ambassador', 'direct', 'in-process'] as const;
export type CardNetworkMode = (typeof CARD_NETWORK_MODES)[number];

export interface CardAuthorizationRequest {
  /** The command's idempotency key: the network answers a repeated key with its first answer. */
  idempotencyKey: string;
  /** The card's digits (sent to the network, never stored). */
  pan: string;
  expMonth: number;
  expYear: number;
  amount: Money;
}

export interface CardNetworkPort {
  /**
   * The network's decision on a card that passed validation (`local`: payment's own table, the
   * answer in `in-process` mode). Throws SHOP_DEPENDENCY_UNAVAILABLE when the network did not
   * answer in time after the retries of the mode: nothing is recorded, and the caller's retry
   * with the same key gets the network's first answer if it had decided after all.
   */
  decide(request: CardAuthorizationRequest, local: CardDecision, signal?: AbortSignal): Promise<CardDecision>;
}
